/**
 * ICMP for IPv4 (RFC 792): a type, a code and a checksum over the whole message. Echo (type 8)
 * and echo reply (type 0) go on with an identifier, a sequence number and data that the reply
 * returns unchanged. `parse` fills the representation below; `emit` writes a message from it.
 */
import { fold, sumIsValid, sumWords } from "./checksum";

// Field offsets.
const TYPE = 0; // u8
const CODE = 1; // u8
const CHECKSUM = 2; // u16: over the whole ICMP message
const IDENTIFIER = 4; // u16 (echo)
const SEQUENCE = 6; // u16 (echo)
/** Type, code and checksum: every message has them. */
const COMMON_LENGTH = 4;
export const ECHO_HEADER_LENGTH = 8;

export const ECHO_REPLY: u32 = 0;
export const ECHO_REQUEST: u32 = 8;

// The representation. For echo messages, `data` points at the bytes after the echo header.
export let type: u32 = 0;
export let code: u32 = 0;
export let identifier: u32 = 0;
export let sequence: u32 = 0;
export let data: usize = 0;
export let dataLength: u32 = 0;

export const OK = 0;
/** shorter than its header, or not captured whole (the checksum covers every byte) */
export const TRUNCATED = 1;
export const BAD_CHECKSUM = 2;

/**
 * `length` bytes of message (the IPv4 payload) at `p`, `captured` of them readable. Checks the
 * length once, then the checksum; for echo types also reads identifier, sequence and data.
 */
export function parse(p: usize, captured: u32, length: u32): i32 {
  if (length < <u32>COMMON_LENGTH || captured < length) return TRUNCATED;
  type = <u32>load<u8>(p + TYPE);
  code = <u32>load<u8>(p + CODE);
  if (type == ECHO_REQUEST || type == ECHO_REPLY) {
    if (length < <u32>ECHO_HEADER_LENGTH) return TRUNCATED;
    identifier = <u32>bswap<u16>(load<u16>(p + IDENTIFIER));
    sequence = <u32>bswap<u16>(load<u16>(p + SEQUENCE));
    data = p + ECHO_HEADER_LENGTH;
    dataLength = length - ECHO_HEADER_LENGTH;
  }
  if (!sumIsValid(sumWords(p, length))) return BAD_CHECKSUM;
  return OK;
}

/** Writes an echo or echo reply from the representation at `p` (the data may overlap it); returns its length. */
export function emitEcho(p: usize): u32 {
  memory.copy(p + ECHO_HEADER_LENGTH, data, dataLength);
  store<u8>(p + TYPE, <u8>type);
  store<u8>(p + CODE, <u8>code);
  store<u16>(p + CHECKSUM, 0);
  store<u16>(p + IDENTIFIER, bswap<u16>(<u16>identifier));
  store<u16>(p + SEQUENCE, bswap<u16>(<u16>sequence));
  const length = <u32>ECHO_HEADER_LENGTH + dataLength;
  store<u16>(p + CHECKSUM, <u16>~fold(sumWords(p, length)));
  return length;
}
