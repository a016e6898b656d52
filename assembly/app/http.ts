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

/** Tokens matched in header values, as static bytes (lowercase) with their lengths. */
export const CLOSE: usize = memory.data<u8>([99, 108, 111, 115, 101]);
export const CLOSE_LENGTH: u32 = 5;
export const KEEP_ALIVE: usize = memory.data<u8>([107, 101, 101, 112, 45, 97, 108, 105, 118, 101]);
export const KEEP_ALIVE_LENGTH: u32 = 10;
export const CHUNKED: usize = memory.data<u8>([99, 104, 117, 110, 107, 101, 100]);
export const CHUNKED_LENGTH: u32 = 7;
/** "HTTP/" as five bytes */
export const HTTP_SLASH: usize = memory.data<u8>([72, 84, 84, 80, 47]);

/**
 * One step of matching the token at `token` (`length` lowercase ASCII bytes) anywhere in a
 * value: `state` is the count matched so far, 255 once found. Naive restart: fine for the tokens
 * used here (close, keep-alive, chunked), whose first letter does not recur where a restart
 * would miss it.
 */
// @ts-ignore: decorator
@inline export function matchStep(state: u32, c: u32, token: usize, length: u32): u32 {
  if (state == 255) return 255;
  const l = lower(c);
  if (l == <u32>load<u8>(token + state)) {
    state++;
    return state == length ? 255 : state;
  }
  return l == <u32>load<u8>(token) ? 1 : 0;
}

/** Header names the client and server act on, lowercase. */
export const CONTENT_LENGTH_NAME: usize = memory.data<u8>([99, 111, 110, 116, 101, 110, 116, 45, 108, 101, 110, 103, 116, 104]);
export const TRANSFER_ENCODING_NAME: usize = memory.data<u8>([116, 114, 97, 110, 115, 102, 101, 114, 45, 101, 110, 99, 111, 100, 105, 110, 103]);
export const CONNECTION_NAME: usize = memory.data<u8>([99, 111, 110, 110, 101, 99, 116, 105, 111, 110]);

/** The index of the first `byte` in the `n` bytes at `p`, or -1: sixteen bytes a step. */
export function findByte(p: usize, n: u32, byte: u32): i32 {
  const needle = i8x16.splat(<i8>byte);
  let i: u32 = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p + i), needle));
    if (m != 0) return <i32>(i + ctz(m));
  }
  for (; i < n; i++) if (<u32>load<u8>(p + i) == byte) return <i32>i;
  return -1;
}

/** Whether the `length` bytes at `p` are the lowercase name at `name`, in any case. */
export function nameIs(p: usize, length: u32, name: usize): bool {
  for (let k: u32 = 0; k < length; k++) if (lower(<u32>load<u8>(p + k)) != <u32>load<u8>(name + k)) return false;
  return true;
}

/** Whether the token (lowercase, at `token`) occurs in the `n` bytes at `p`, in any case. */
export function contains(p: usize, n: u32, token: usize, length: u32): bool {
  let m: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    m = matchStep(m, <u32>load<u8>(p + k), token, length);
    if (m == 255) return true;
  }
  return false;
}

/** The decimal number at the start of the `n` bytes at `p` (spaces first skipped); saturates. */
export function decimalAt(p: usize, n: u32): u64 {
  let k: u32 = 0;
  while (k < n && (load<u8>(p + k) == 32 || load<u8>(p + k) == 9)) k++;
  let v: u64 = 0;
  for (; k < n; k++) {
    const d = <u32>load<u8>(p + k) - 48;
    if (d > 9) break;
    v = v < 0x0ccccccccccccccc ? v * 10 + <u64>d : <u64>-1;
  }
  return v;
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
