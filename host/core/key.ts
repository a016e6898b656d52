/**
 * RSS keys: presets, parsing (plain or colon-separated hex, as `ethtool -x` prints it), printing.
 * A key is a Uint8Array, the bytes as the NIC holds them: byte 0's most significant bit is the
 * first key bit Toeplitz uses.
 */
import { KEY_MAX } from '../../assembly/shared/abi.js';
import { invalid } from './errors.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));

/**
 * Named keys.
 * - `microsoft`: the verification key of the Microsoft RSS specification; many drivers' default.
 * - `symmetric`: 0x6d5a repeated. Period 16 bits, so swapping source and destination (addresses,
 *   and ports) swaps equal key windows: the hash is the same both ways (Woo and Park, 2012).
 * - `mtcp`: 0x05 repeated, what mTCP and mOS program (52 bytes into the NIC, 40 in software).
 *   Symmetric too, but its hash map has rank 6: only 64 distinct hashes exist.
 */
export const KEY_PRESETS = {
  microsoft: hex('6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa'),
  symmetric: hex('6d5a'.repeat(20)),
  mtcp: hex('05'.repeat(40)),
} as const satisfies Record<string, Uint8Array>;

export type KeyPreset = keyof typeof KEY_PRESETS;

/**
 * Parses a preset name or hex text: `6d5a56da...` or `6d:5a:56:...` (white space ignored, an
 * optional `0x` prefix on plain hex). Returns a fresh copy; 1 to KEY_MAX bytes.
 */
export function parseKey(text: string, subject = 'key'): Uint8Array {
  const t = text.trim();
  if (Object.hasOwn(KEY_PRESETS, t)) return new Uint8Array(KEY_PRESETS[t as KeyPreset]);
  const compact = t.replace(/\s+/g, '');
  let digits: string;
  if (compact.includes(':')) {
    const parts = compact.split(':');
    const bad = parts.findIndex((p) => !/^[0-9a-fA-F]{2}$/.test(p));
    if (bad >= 0) invalid(subject, text, `byte ${bad + 1} ("${parts[bad]}") is not two hex digits`);
    digits = parts.join('');
  } else {
    digits = compact.replace(/^0x/i, '');
    if (digits === '') invalid(subject, text, `expected ${Object.keys(KEY_PRESETS).join(', ')} or hex bytes`);
    const badChar = digits.search(/[^0-9a-fA-F]/);
    if (badChar >= 0) {
      invalid(subject, text, `"${digits[badChar]}" is not a hex digit (or name one of ${Object.keys(KEY_PRESETS).join(', ')})`);
    }
    if (digits.length % 2) invalid(subject, text, `odd number of hex digits (${digits.length})`);
  }
  const key = hex(digits);
  if (key.length > KEY_MAX) invalid(subject, text, `${key.length} bytes; at most ${KEY_MAX}`);
  return key;
}

/** Lower-case hex, plain (`6d5a...`) or colon-separated as `ethtool -x` prints it. */
export function formatKey(key: Uint8Array, style: 'plain' | 'colon' = 'plain'): string {
  const bytes = Array.from(key, (b) => b.toString(16).padStart(2, '0'));
  return bytes.join(style === 'colon' ? ':' : '');
}

/** The preset a key equals, if any. */
export function presetName(key: Uint8Array): KeyPreset | undefined {
  return (Object.keys(KEY_PRESETS) as KeyPreset[]).find((name) => {
    const p = KEY_PRESETS[name];
    return p.length === key.length && p.every((b, i) => b === key[i]);
  });
}
