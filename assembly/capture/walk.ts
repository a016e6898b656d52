/**
 * Capture files in: the host reads a file in large chunks into engine memory and hands each
 * chunk here; records are walked in place and each packet becomes a descriptor pointing at its
 * bytes in the chunk (nothing is copied). The host calls captureBegin on the file's first bytes,
 * then captureWalk until a chunk is used up; a record cut by the chunk's end waits for the next
 * chunk (the host moves it to the front of its buffer), and at the end of the file such a record
 * means the file was cut short.
 *
 * Never reads past `length`: every record's length is checked against the bytes present before
 * its body is touched, and lengths no valid record has end the walk with a CaptureError.
 */
import {
  CAP_CONSUMED, CAP_ERROR, CAP_ERROR_VALUE, CAP_FORMAT, CaptureError, CaptureFormat,
} from "../shared/abi";
import { isPcap, pcapBegin, pcapWalk } from "./pcap";
import { pcapngBegin, pcapngWalk, SECTION_HEADER } from "./pcapng";
import { fail, loadBigEndian, resetState, setStateU32, stateU32 } from "./state";

/**
 * Starts a new file: clears the walker state and recognises the file header in the first
 * `length` bytes at `chunk`. Returns the CaptureFormat, with the header bytes it consumed in
 * CAP_CONSUMED, or a negative CaptureError (CAP_ERROR_VALUE: the value at fault; for
 * SHORT_HEADER, the bytes the header needs: call again with more if the file has them).
 */
export function captureBegin(chunk: usize, length: usize): i32 {
  resetState();
  let result: i32;
  if (length < 4) {
    setStateU32(CAP_ERROR_VALUE, 4);
    result = -CaptureError.SHORT_HEADER;
  } else {
    const magic = load<u32>(chunk);
    if (isPcap(magic)) {
      result = pcapBegin(chunk, length);
      if (result >= 0) {
        setStateU32(CAP_CONSUMED, result);
        result = CaptureFormat.PCAP;
      }
    } else if (magic == SECTION_HEADER) {
      result = pcapngBegin(chunk, length);
      if (result >= 0) {
        setStateU32(CAP_CONSUMED, 0);
        result = CaptureFormat.PCAPNG;
      }
    } else {
      setStateU32(CAP_ERROR_VALUE, bswap<u32>(magic));
      result = -CaptureError.NOT_CAPTURE;
    }
  }
  if (result < 0) {
    setStateU32(CAP_ERROR, -result);
  } else {
    setStateU32(CAP_FORMAT, result);
  }
  return result;
}

/**
 * Walks the records in `length` bytes at `chunk` (the chunk's unconsumed bytes, starting at a
 * record boundary), writing up to `max` 32-byte descriptors at `out`. Returns the descriptors
 * written. CAP_STOP says why it returned (CaptureStop), CAP_CONSUMED how many bytes of the chunk
 * it took; the next call starts there. Packets of link types no engine parses, and packets on
 * interfaces never described, are counted (CAP_UNSUPPORTED, CAP_DROPPED), not described.
 */
export function captureWalk(chunk: usize, length: usize, out: usize, max: i32): i32 {
  loadBigEndian();
  const format = stateU32(CAP_FORMAT);
  if (format == CaptureFormat.PCAP) return pcapWalk(chunk, length, out, max);
  if (format == CaptureFormat.PCAPNG) return pcapngWalk(chunk, length, out, max);
  // no file begun, or it was refused: nothing to walk
  fail(0, CaptureError.NOT_CAPTURE, 0);
  return 0;
}
