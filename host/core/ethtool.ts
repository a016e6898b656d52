/**
 * The text of `ethtool -x DEV`, printed byte for byte as ethtool prints it and parsed back from
 * what a user pastes (with or without the key, hash-function and input-transformation sections).
 *
 *   RX flow hash indirection table for eth0 with 4 RX ring(s):
 *       0:      0     1     2     3     0     1     2     3       <- printf("%5u: ") then " %5u" x 8
 *   RSS hash key:
 *   6d:5a:56:da:...
 *   RSS hash function:
 *       toeplitz: on
 *       xor: off
 *       crc32: off
 *   RSS input transformation:
 *       symmetric-xor: off
 */
import { invalid } from './errors.js';
import { formatKey } from './key.js';
import type { HashFunctionName, TransformName } from './fields.js';

export interface EthtoolRss {
  /** device name from the header line */
  dev: string;
  /** "with N RX ring(s)" */
  rings: number;
  table: Uint16Array;
  key?: Uint8Array;
  /** the hash function marked `on`, when the section is present */
  hfunc?: HashFunctionName | 'crc32';
  /** the input transform marked `on` ('none' when the section is present and none is on) */
  xfrm?: TransformName;
}

const pad5 = (n: number) => String(n).padStart(5, ' ');

/** Prints like ethtool 6.x's `ethtool -x`. Sections after the table appear when given. */
export function formatEthtool(rss: EthtoolRss): string {
  const lines = [`RX flow hash indirection table for ${rss.dev} with ${rss.rings} RX ring(s):`];
  for (let i = 0; i < rss.table.length; i += 8) {
    const row = Array.from(rss.table.subarray(i, i + 8), (q) => ` ${pad5(q)}`).join('');
    lines.push(`${pad5(i)}: ${row}`);
  }
  if (rss.key) lines.push('RSS hash key:', formatKey(rss.key, 'colon'));
  if (rss.hfunc) {
    lines.push('RSS hash function:');
    for (const f of ['toeplitz', 'xor', 'crc32']) lines.push(`    ${f}: ${rss.hfunc === f ? 'on' : 'off'}`);
  }
  if (rss.xfrm) {
    lines.push('RSS input transformation:');
    for (const x of ['symmetric-xor', 'symmetric-or-xor']) lines.push(`    ${x}: ${rss.xfrm === x ? 'on' : 'off'}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Parses `ethtool -x` output. Lines before the header (a shell prompt, the command) are skipped.
 * Throws EINVAL naming the line that does not fit.
 */
export function parseEthtool(text: string, subject = 'ethtool -x output'): EthtoolRss {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const header = /^RX flow hash indirection table for (\S+) with (\d+) RX ring\(s\):\s*$/;
  let i = lines.findIndex((l) => header.test(l.trim()));
  if (i < 0) invalid(subject, firstLine(text), 'no "RX flow hash indirection table for DEV with N RX ring(s):" line');
  const [, dev, rings] = header.exec(lines[i]!.trim())!;
  const out: EthtoolRss = { dev: dev!, rings: Number(rings), table: new Uint16Array(0) };
  const entries: number[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const row = /^(\d+):((?:\s+\d+)+)$/.exec(line);
    if (!row) break;
    if (Number(row[1]) !== entries.length) {
      invalid(subject, line, `row starts at entry ${row[1]} but ${entries.length} entries came before it`);
    }
    entries.push(...row[2]!.trim().split(/\s+/).map(Number));
  }
  if (entries.length === 0) invalid(subject, lines[i] ?? '', 'the indirection table has no rows');
  out.table = Uint16Array.from(entries);
  // Sections after the table, in any order.
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line === 'RSS hash key:') {
      const keyLine = (lines[++i] ?? '').trim();
      if (keyLine !== 'Operation not supported' && keyLine !== '') {
        if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(keyLine)) invalid(subject, keyLine, 'the key line is not colon-separated hex bytes');
        out.key = Uint8Array.from(keyLine.split(':'), (b) => parseInt(b, 16));
      }
    } else if (line === 'RSS hash function:') {
      for (const [name, on] of section(lines, i + 1)) {
        if (on && (name === 'toeplitz' || name === 'xor' || name === 'crc32')) out.hfunc = name;
        i++;
      }
    } else if (line === 'RSS input transformation:') {
      out.xfrm = 'none';
      for (const [name, on] of section(lines, i + 1)) {
        if (on && (name === 'symmetric-xor' || name === 'symmetric-or-xor')) out.xfrm = name;
        i++;
      }
    }
  }
  return out;
}

/** The `    name: on|off` lines starting at `from`. */
function* section(lines: string[], from: number): Generator<[string, boolean]> {
  for (let i = from; i < lines.length; i++) {
    const m = /^\s+([a-z0-9-]+):\s+(on|off)\s*$/.exec(lines[i]!);
    if (!m) return;
    yield [m[1]!, m[2] === 'on'];
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.slice(0, 60);
}

/** What `ethtool -X DEV ...` sets: the table as ethtool fills it, and optionally key and functions. */
export interface EthtoolSet {
  dev: string;
  /** `equal N`: entry i is start + i % N */
  equal?: number;
  /** `weight W0 W1 ...`: queue j gets entries in proportion to Wj (give this or `equal`) */
  weights?: readonly number[];
  /** `start S`: the first queue the table names (0 is left out) */
  start?: number;
  /** `hkey 6d:5a:...` */
  key?: Uint8Array;
  hfunc?: HashFunctionName;
  /** `xfrm symmetric-xor` (ethtool 6.8+); `none` is left out */
  xfrm?: TransformName;
}

/**
 * The `ethtool -X` command line that programs a device as described, in the man page's order:
 * `ethtool -X eth0 hkey 6d:5a:... start 2 weight 4 2 1 1 hfunc toeplitz xfrm symmetric-xor`.
 * The table's size is the device's own (`ethtool -x` shows it); ethtool cannot change it.
 * Throws EINVAL unless exactly one of `equal` and `weights` is given.
 */
export function formatEthtoolSet(set: EthtoolSet): string {
  if ((set.equal === undefined) === (set.weights === undefined)) invalid('ethtool -X table', JSON.stringify(set), 'give equal or weights');
  const words = ['ethtool', '-X', set.dev];
  if (set.key) words.push('hkey', formatKey(set.key, 'colon'));
  if (set.start) words.push('start', String(set.start));
  if (set.equal !== undefined) words.push('equal', String(set.equal));
  else words.push('weight', ...set.weights!.map(String));
  if (set.hfunc) words.push('hfunc', set.hfunc);
  if (set.xfrm && set.xfrm !== 'none') words.push('xfrm', set.xfrm);
  return words.join(' ');
}
