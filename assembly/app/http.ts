/**
 * What the HTTP/1.1 client and server share (RFC 9112): header names recognised by a hash of
 * their lowercase bytes as they stream past (no line is ever buffered), a matcher for a token
 * inside a header value, and the deterministic body the server sends and tests recompute:
 * little-endian u32 word k of a body is k * 0x9e3779b1 (mod 2^32), so every 4-byte word of the
 * first 16 GiB is distinct and a byte out of place changes the digest.
 */

/** FNV-1a, 32 bits, of a lowercase byte stream. */
export const FNV_START: u32 = 0x811c9dc5;
// @ts-ignore: decorator
@inline export function fnv(h: u32, c: u32): u32 {
  return (h ^ c) * 0x01000193;
}
// @ts-ignore: decorator
@inline export function lower(c: u32): u32 {
  return c - 65 < 26 ? c | 0x20 : c;
}

function nameHash(s: string): u32 {
  let h = FNV_START;
  for (let i = 0; i < s.length; i++) h = fnv(h, <u32>s.charCodeAt(i));
  return h;
}

export let CONTENT_LENGTH: u32 = 0;
export let TRANSFER_ENCODING: u32 = 0;
export let CONNECTION: u32 = 0;

export function configureHttp(): void {
  CONTENT_LENGTH = nameHash("content-length");
  TRANSFER_ENCODING = nameHash("transfer-encoding");
  CONNECTION = nameHash("connection");
}

/**
 * One step of matching `token` (lowercase ASCII, up to 255 bytes) anywhere in a value: `state`
 * is the count matched so far, 255 once found. Naive restart: fine for the tokens used here
 * (close, keep-alive, chunked), whose first letter does not recur where a restart would miss it.
 */
export function matchStep(state: u32, c: u32, token: string): u32 {
  if (state == 255) return 255;
  const l = lower(c);
  if (l == <u32>token.charCodeAt(<i32>state)) {
    state++;
    return state == <u32>token.length ? 255 : state;
  }
  return l == <u32>token.charCodeAt(0) ? 1 : 0;
}

/** Writes body bytes [offset, offset + n) at `dst`. */
export function writeBody(dst: usize, offset: u64, n: u32): void {
  let i: u32 = 0;
  // Up to a word boundary byte by byte, then whole words, then the tail.
  while (i < n && ((offset + <u64>i) & 3) != 0) {
    const o = offset + <u64>i;
    store<u8>(dst + i, <u8>((<u32>(o >> 2) * 0x9e3779b1) >> (<u32>(o & 3) << 3)));
    i++;
  }
  let k = <u32>((offset + <u64>i) >> 2);
  for (; i + 4 <= n; i += 4) {
    store<u32>(dst + i, k * 0x9e3779b1);
    k++;
  }
  while (i < n) {
    const o = offset + <u64>i;
    store<u8>(dst + i, <u8>((<u32>(o >> 2) * 0x9e3779b1) >> (<u32>(o & 3) << 3)));
    i++;
  }
}

/** Writes `value` in decimal at `dst`; returns the digits written. */
export function writeDecimal(dst: usize, value: u64): u32 {
  let digits: u32 = 1;
  for (let v = value; v >= 10; v /= 10) digits++;
  let v = value;
  for (let i = digits; i > 0; i--) {
    store<u8>(dst + i - 1, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  }
  return digits;
}

/** Writes an ASCII string at `dst`; returns its length. */
export function writeAscii(dst: usize, s: string): u32 {
  for (let i = 0; i < s.length; i++) store<u8>(dst + i, <u8>s.charCodeAt(i));
  return <u32>s.length;
}
