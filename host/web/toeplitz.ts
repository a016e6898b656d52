/**
 * Toeplitz, bit by bit. The hash is linear over GF(2): it is the XOR, over the set bits b of the
 * input, of column[b], which for Toeplitz is the 32-bit key window starting at key bit b. Drawn
 * with one monospace character per bit, each window sits under the key bits it is made of and
 * starts under the input bit that selects it.
 */
import { formatAddress } from '../core/addr.js';
import { FIELD_SETS, type FieldSetName, type Tuple } from '../core/fields.js';
import type { HashExplanation, RssHasher } from '../core/rss.js';
import { byId, h, hex32 } from './dom.js';
import type { Settings } from './settings.js';

type Field = 'src' | 'dst' | 'sport' | 'dport';

/** Which field input bit `bit` belongs to, and its byte within that field. */
function fieldOf(fields: FieldSetName, bit: number): { field: Field; byte: number } {
  const a = FIELD_SETS[fields].addressLength;
  const byte = bit >> 3;
  if (byte < a) return { field: 'src', byte };
  if (byte < 2 * a) return { field: 'dst', byte: byte - a };
  if (byte < 2 * a + 2) return { field: 'sport', byte: byte - 2 * a };
  return { field: 'dport', byte: byte - 2 * a - 2 };
}

const bitOf = (bytes: Uint8Array, b: number) => (bytes[b >> 3]! >> (7 - (b & 7))) & 1;
const binary = (v: number) => (v >>> 0).toString(2).padStart(32, '0');

/** Input bits as characters coloured by field; set bits stand out. */
function inputStrip(fields: FieldSetName, bytes: Uint8Array): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (let b = 0; b < bytes.length * 8; b++) {
    const one = bitOf(bytes, b);
    out.push(h('span', { class: `f-${fieldOf(fields, b).field} ${one ? 'one' : 'zero'}` }, String(one)));
  }
  return out;
}

/** Bit positions every 8 bits, as one line of text: "0       8       16 ...". */
function ruler(bits: number): string {
  let s = '';
  for (let b = 0; b < bits; b += 8) s += String(b).padEnd(8, ' ');
  return s;
}

function lead(...parts: Array<string | Node>): HTMLTableCellElement {
  const cls = ['c1', 'c2', 'c3'];
  return h('th', { class: 'lead' }, ...parts.map((p, i) => h('span', { class: cls[i] }, p)));
}

export class ToeplitzView {
  render(settings: Settings, tuple: Tuple, rss: RssHasher): void {
    const { config } = settings;
    const e = rss.explain(tuple);
    const reta = config.reta!;
    const bits = Math.log2(reta.size);
    const index = e.hash & (reta.size - 1);
    const queue = reta.queueOf(e.hash);

    byId('toeplitz-hash').textContent = hex32(e.hash);
    byId('toeplitz-hash-note').textContent = `${config.hfunc}, ${e.input.length * 8} input bits, ${e.steps.length} set`;
    byId('toeplitz-index').textContent = String(index);
    byId('toeplitz-index-note').textContent = `the hash's low ${bits} bits`;
    byId('toeplitz-queue').textContent = String(queue);
    byId('toeplitz-queue-note').textContent = `table[${index}] of ${reta.size}`;

    const explain = byId('toeplitz-explain');
    explain.replaceChildren(...(config.hfunc === 'toeplitz'
      ? ['For every input bit that is 1, take the 32 key bits starting at that bit position (its ', h('b', {}, 'window'),
        ') and XOR it into the result. Each row below is one set bit: its window sits under the key bits it is made of, starting under the bit that selects it. ',
        'The last running XOR is the hash.']
      : ['The xor function XORs the input\'s big-endian 32-bit words: input bit b contributes bit 31 − (b mod 32) of a word. ',
        'Each row is one set bit and the word it contributes, under the input word it comes from.']));

    this.drawGrid(settings, e);

    const low = binary(e.hash);
    byId('toeplitz-result').replaceChildren(
      'hash ', h('code', {}, hex32(e.hash)), ' = ', h('code', {}, low.slice(0, 32 - bits)),
      h('code', { class: 'lowbits' }, bits ? low.slice(32 - bits) : ''),
      ` → table index = low ${bits} bits = `, h('b', {}, String(index)), ` → queue = table[${index}] = `, h('b', {}, String(queue)),
    );
  }

  private drawGrid(settings: Settings, e: HashExplanation): void {
    const { config } = settings;
    const fields = e.fields;
    const inputBits = e.input.length * 8;
    const toeplitz = config.hfunc === 'toeplitz';
    const width = toeplitz ? inputBits + 32 : inputBits;
    const rows: HTMLTableRowElement[] = [];

    const head: HTMLTableRowElement[] = [
      h('tr', {}, lead('input bit', 'window', 'running XOR'), h('th', { class: 'strip' }, ruler(width))),
    ];
    if (toeplitz) {
      const key = Array.from({ length: width }, (_, b) => String(bitOf(config.key, b))).join('');
      head.push(h('tr', {}, lead('Key', `${config.key.length} bytes`, ''), h('th', { class: 'strip keybits' }, key)));
    } else {
      head.push(h('tr', {}, lead('Key', 'unused', ''), h('th', { class: 'strip hint' }, 'the xor function takes no key')));
    }
    const a = FIELD_SETS[fields].addressLength;
    const describe = (bytes: Uint8Array) => {
      const t = `${formatAddress(bytes.subarray(0, a))} → ${formatAddress(bytes.subarray(a, 2 * a))}`;
      return FIELD_SETS[fields].ports ? `${t}, ports ${(bytes[2 * a]! << 8) | bytes[2 * a + 1]!} → ${(bytes[2 * a + 2]! << 8) | bytes[2 * a + 3]!}` : t;
    };
    head.push(h('tr', { title: describe(e.input) }, lead('Input', fields, ''), h('th', { class: 'strip' }, ...inputStrip(fields, e.input))));
    if (config.xfrm !== 'none') {
      head.push(h('tr', { title: describe(e.hashed) }, lead('Hashed', config.xfrm, ''), h('th', { class: 'strip' }, ...inputStrip(fields, e.hashed))));
    }

    for (const step of e.steps) {
      const { field, byte } = fieldOf(fields, step.bit);
      const offset = toeplitz ? step.bit : step.bit - (step.bit % 32);
      const window = binary(step.column);
      const pick = step.bit - offset; // the window character under the selecting input bit
      rows.push(h('tr', {},
        h('td', { class: 'lead' },
          h('span', { class: 'c1' }, h('span', { class: `f-${field}` }, `${step.bit}`), ` ${field}[${byte}]`),
          h('span', { class: 'c2' }, hex32(step.column)),
          h('span', { class: 'c3' }, hex32(step.running))),
        h('td', { class: 'strip' }, ' '.repeat(offset),
          h('span', { class: 'window' }, window.slice(0, pick), h('span', { class: 'pick' }, window[pick]!), window.slice(pick + 1))),
      ));
    }
    if (e.steps.length === 0) rows.push(h('tr', {}, h('td', { class: 'lead' }, 'no bit is set'), h('td', { class: 'strip' }, 'the hash of all zeros is 0')));
    rows.push(h('tr', {}, h('td', { class: 'lead' }, h('span', { class: 'c1' }, h('b', {}, '= hash')), h('span', { class: 'c2' }, ''),
      h('span', { class: 'c3' }, h('b', { id: 'toeplitz-final' }, hex32(e.hash)))), h('td', { class: 'strip' }, '')));

    byId('toeplitz-bits').replaceChildren(h('thead', {}, ...head), h('tbody', {}, ...rows));
  }
}
