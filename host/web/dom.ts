/**
 * Small DOM helpers for the page: finding elements, building them, showing a field's error beside
 * it, and the boundary every event goes through (an error becomes a message, never a blank page
 * or an exception in the console).
 */
import { RssplaneError } from '../core/errors.js';

/** The element with `id`; the page's HTML is ours, so a missing one is a bug worth a loud message. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

/** Builds an element: `h('td', { class: 'x' }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string | undefined> = {}, ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** Shows `message` in `#ID-error` and marks the input `#ID` invalid; an empty message clears both. */
export function showFieldError(id: string, message = ''): void {
  byId(`${id}-error`).textContent = message;
  document.getElementById(id)?.classList.toggle('invalid', message !== '');
}

/** A user's mistake as one line: an RssplaneError's message says which value and why. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Shows an unexpected failure at the top of the page (the rest of the page stays usable). */
export function showFatal(e: unknown): void {
  const box = byId('fatal');
  box.textContent = `Something went wrong: ${messageOf(e)}. The rest of the page still works; change an input to try again.`;
  box.hidden = false;
}

/**
 * Runs `fn`, and turns what it throws into a message: RssplaneErrors (bad input) to `onInput`,
 * anything else to the banner. Nothing reaches the console.
 */
export function guard(fn: () => void | Promise<void>, onInput: (e: RssplaneError) => void = showFatal): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch((e: unknown) => (e instanceof RssplaneError ? onInput(e) : showFatal(e)));
  } catch (e) {
    if (e instanceof RssplaneError) onInput(e);
    else showFatal(e);
  }
}

/** Calls `fn` once input settles: `delay` ms after the last call. */
export function debounce(fn: () => void, delay: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, delay);
  };
}

export const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
export const thousands = (n: number) => n.toLocaleString('en-US');
export const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Distinct colours for queues and cores: a hand-picked dozen, then evenly spread hues. */
const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#d69e2e', '#e53e3e', '#5a67d8', '#718096', '#97266d', '#2c7a7b'];
export function colour(i: number): string {
  return PALETTE[i] ?? `hsl(${(i * 137.508) % 360} 55% 50%)`;
}

/** The colour as bytes, for canvas pixels. */
export function colourBytes(i: number): [number, number, number] {
  const c = colour(i);
  if (c.startsWith('#')) return [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)) as [number, number, number];
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.fillStyle = c;
  const normalized = ctx.fillStyle; // browsers normalise any colour to #rrggbb here
  return [1, 3, 5].map((k) => parseInt(normalized.slice(k, k + 2), 16)) as [number, number, number];
}
