/**
 * The two halves of a split flow, made one record.
 *
 * With an asymmetric key the two directions of a connection can land on two cores, and each
 * core's engine holds a record that saw one direction. Every field of a direction block comes from
 * its own direction's packets, and both sides' states and the close follow from the two blocks
 * alone (tcp.ts), so a merge takes each block from the half that saw it, settles who the client is
 * as one engine would have, and recomputes the rest: the result equals the record a single core
 * would have written.
 */
import {
  CloseReason, DIR_FIRST_TS, DIR_FLAGS, DirFlag, FLOW_DIR, FLOW_RECORD, FlowFlag, REC_CLIENT_ADDR,
  REC_CLIENT_PORT, REC_CLOSE, REC_DIR, REC_FLAGS, REC_LAST_TS, REC_PROTO, REC_SERVER_ADDR, REC_SERVER_PORT,
} from "../shared/abi";
import { tcpClose, updateStates } from "./tcp";

const PROTOCOL_TCP: u8 = 6;

/** The direction (0 client to server, 1 back) a half saw, or -1 when it saw none or both. */
function seenDirection(r: usize): i32 {
  const c = (<u32>load<u16>(r + REC_DIR + DIR_FLAGS) & DirFlag.SEEN) != 0;
  const s = (<u32>load<u16>(r + REC_DIR + FLOW_DIR + DIR_FLAGS) & DirFlag.SEEN) != 0;
  return c == s ? -1 : c ? 0 : 1;
}

/** Whether the two records name the same client endpoint. */
function sameClient(a: usize, b: usize): bool {
  return memory.compare(a + REC_CLIENT_ADDR, b + REC_CLIENT_ADDR, 16) == 0
    && load<u16>(a + REC_CLIENT_PORT) == load<u16>(b + REC_CLIENT_PORT);
}

/** Whether a's client is b's server (the same connection, seen the other way round). */
function crossed(a: usize, b: usize): bool {
  return memory.compare(a + REC_CLIENT_ADDR, b + REC_SERVER_ADDR, 16) == 0
    && load<u16>(a + REC_CLIENT_PORT) == load<u16>(b + REC_SERVER_PORT)
    && memory.compare(a + REC_SERVER_ADDR, b + REC_CLIENT_ADDR, 16) == 0
    && load<u16>(a + REC_SERVER_PORT) == load<u16>(b + REC_CLIENT_PORT);
}

/**
 * Merges halves `a` and `b` (FLOW_RECORD bytes each) into `out`. Returns 0, or -1 when they are not
 * two halves of one flow (other endpoints, or both saw the same direction).
 */
export function mergeRecords(a: usize, b: usize, out: usize): i32 {
  const da = seenDirection(a), db = seenDirection(b);
  if (da < 0 || db < 0 || load<u8>(a + REC_PROTO) != load<u8>(b + REC_PROTO)) return -1;
  const same = sameClient(a, b);
  if (!same && !crossed(a, b)) return -1;
  // In one orientation, the halves must hold opposite directions.
  if ((same ? db : 1 - db) == da) return -1;

  // Who is the client: a half that saw the handshake knows; otherwise it is the first sender, and
  // a half that saw one direction without a handshake calls that direction's sender its client.
  const synA = (load<u8>(a + REC_FLAGS) & FlowFlag.CLIENT_BY_SYN) != 0;
  const synB = (load<u8>(b + REC_FLAGS) & FlowFlag.CLIENT_BY_SYN) != 0;
  let base = a;
  if (!synA && synB) {
    base = b;
  } else if (!synA && !synB) {
    const firstA = load<u64>(a + REC_DIR + <usize>da * FLOW_DIR + DIR_FIRST_TS);
    const firstB = load<u64>(b + REC_DIR + <usize>db * FLOW_DIR + DIR_FIRST_TS);
    if (firstB < firstA) base = b;
  }
  const other = base == a ? b : a;
  memory.copy(out, base, FLOW_RECORD);
  // The block the base half lacks comes from the other half, turned to the base's orientation.
  const dBase = base == a ? da : db;
  const dOther = base == a ? db : da;
  const otherInBase = sameClient(base, other) ? dOther : 1 - dOther;
  memory.copy(out + REC_DIR + <usize>otherInBase * FLOW_DIR, other + REC_DIR + <usize>dOther * FLOW_DIR, FLOW_DIR);
  if (otherInBase == dBase) return -1;

  store<u8>(out + REC_FLAGS, load<u8>(a + REC_FLAGS) | load<u8>(b + REC_FLAGS));
  const lastA = load<u64>(a + REC_LAST_TS), lastB = load<u64>(b + REC_LAST_TS);
  store<u64>(out + REC_LAST_TS, max(lastA, lastB));
  // The close: what the segments say, else how the later half left its table.
  let close = <u32>CloseReason.OPEN;
  if (load<u8>(out + REC_PROTO) == PROTOCOL_TCP) {
    updateStates(out);
    close = tcpClose(out);
  }
  if (close == CloseReason.OPEN) close = load<u8>((lastB > lastA ? b : a) + REC_CLOSE);
  store<u8>(out + REC_CLOSE, <u8>close);
  return 0;
}
