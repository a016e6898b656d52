/**
 * IPv4 and IPv6 addresses as the bytes RSS hashes (network order), parsed and printed by hand:
 * bad input must get a precise message, and the browser has no `net` module.
 */
import { invalid } from './errors.js';

export type Family = 4 | 6;

export interface Address {
  family: Family;
  /** 4 or 16 bytes, network order */
  bytes: Uint8Array;
}

/** Parses dotted-quad IPv4 (exactly four decimal parts, 0-255, no leading zeros). */
export function parseIPv4(text: string, subject = 'IPv4 address'): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) invalid(subject, text, 'expected four dot-separated numbers');
  const bytes = new Uint8Array(4);
  parts.forEach((part, i) => {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) {
      invalid(subject, text, `part ${i + 1} must be a number from 0 to 255`);
    }
    bytes[i] = Number(part);
  });
  return bytes;
}

/** Parses IPv6 text (RFC 4291 section 2.2: `::` once, 1-4 hex digits a group, dotted IPv4 tail). */
export function parseIPv6(text: string, subject = 'IPv6 address'): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) invalid(subject, text, '"::" may appear only once');
  const groupsOf = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((part, i) => {
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part, subject);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        invalid(subject, text, `"${part}" is not a group of 1 to 4 hex digits`);
      }
    });
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) {
    invalid(subject, text, 'an IPv6 address has 8 groups of 16 bits');
  }
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses either family; IPv6 may be written in brackets. */
export function parseAddress(text: string, subject = 'address'): Address {
  const t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) return { family: 6, bytes: parseIPv6(t.slice(1, -1), subject) };
  if (t.includes(':')) return { family: 6, bytes: parseIPv6(t, subject) };
  if (/^[0-9.]+$/.test(t)) return { family: 4, bytes: parseIPv4(t, subject) };
  return invalid(subject, text, 'not an IPv4 or IPv6 address');
}

/** Formats 4 or 16 bytes; IPv6 in RFC 5952's canonical form (lower case, longest zero run as ::). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1, bestLength = 1, run = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      if (i - run > bestLength) [best, bestLength] = [run, i - run];
      run = -1;
    }
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

/** `ADDR:PORT`, IPv6 as `[ADDR]:PORT`. */
export function formatEndpoint(bytes: Uint8Array, port: number): string {
  const a = formatAddress(bytes);
  return bytes.length === 16 ? `[${a}]:${port}` : `${a}:${port}`;
}

/**
 * `formatEndpoint` of the 4 or 16 address bytes at `at` in `bytes` (`family` says which), without
 * copying them out: flow records are formatted this way, one per flow.
 */
export function formatEndpointAt(bytes: Uint8Array, at: number, family: 4 | 6, port: number): string {
  if (family === 4) return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}:${port}`;
  return formatEndpoint(bytes.subarray(at, at + 16), port);
}

/** Parses a port number (0-65535, decimal). */
export function parsePort(text: string | number, subject = 'port'): number {
  const s = String(text).trim();
  if (!/^[0-9]{1,5}$/.test(s) || Number(s) > 65535) invalid(subject, text, 'a port is a number from 0 to 65535');
  return Number(s);
}

/** The address `n` after `bytes` (for consecutive source addresses); throws past the family's end. */
export function addressPlus(bytes: Uint8Array, n: number, subject = 'address'): Uint8Array {
  const out = new Uint8Array(bytes);
  let carry = n;
  for (let i = out.length - 1; i >= 0 && carry > 0; i--) {
    const v = out[i]! + carry;
    out[i] = v & 0xff;
    carry = Math.floor(v / 256);
  }
  if (carry > 0) invalid(subject, formatAddress(bytes), `adding ${n} runs past the last address`);
  return out;
}
