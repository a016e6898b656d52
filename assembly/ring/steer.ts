/**
 * Software RSS for the dispatcher: which core each packet of a batch goes to, decided exactly as a
 * NIC (and the flow engine) decides it: the packet's RSS hash under the programmed key, field set
 * and transform, the indirection table's queue for it, the core serving that queue.
 *
 * A batch is hashed the way the SIMD kernel wants it: each packet's hash input is written to the
 * buffer of its field set (IPv4 or IPv6, with ports or not), each buffer is hashed in one batch
 * call, and the hashes go back to their packets. The hash and queue are written into each
 * descriptor (PKT_HASH, PKT_QUEUE, PacketFlag.HASHED), so the receiving core's flow engine uses
 * them instead of hashing again. Packets RSS cannot hash (not IP, or malformed) go to queue 0, as
 * on a NIC; the core that gets them counts or drops them. Packets already HASHED (by a NIC) are
 * steered by their hash without being hashed again.
 */
import { FieldSet, IPV6_L4_INPUT, PacketFlag, PKT_DESCRIPTOR, PKT_FLAGS, PKT_HASH, PKT_QUEUE } from "../shared/abi";
import * as packet from "../wire/packet";
import { hashBatch, inputLength } from "../rss/hash";
import { coreOf, queueOf } from "../rss/reta";

const SETS: usize = 4;
/** Per field set and packet: hash input (at most 36 bytes), packet index, hash. */
const PER_PACKET: usize = IPV6_L4_INPUT + 4 + 4;

// The workspace: u32 count per field set, then per field set: inputs, packet indices, hashes.
// @ts-ignore: decorator
@inline function inputsOf(workspace: usize, max: u32, fields: i32): usize {
  return workspace + 64 + <usize>fields * <usize>max * PER_PACKET;
}
// @ts-ignore: decorator
@inline function indicesOf(workspace: usize, max: u32, fields: i32): usize {
  return inputsOf(workspace, max, fields) + <usize>max * IPV6_L4_INPUT;
}
// @ts-ignore: decorator
@inline function hashesOf(workspace: usize, max: u32, fields: i32): usize {
  return indicesOf(workspace, max, fields) + <usize>max * 4;
}

/** Bytes of workspace steerBatch needs for batches of up to `max` packets. */
export function steerWorkspaceBytes(max: u32): usize {
  return SETS * <usize>max * PER_PACKET + SETS * 4 + 64;
}

/**
 * Writes a u16 core per packet at `cores` for `count` (at most `max`) descriptors at
 * `descriptors`. `ports`: the configured field set includes TCP/UDP ports (-l4). `workspace`:
 * steerWorkspaceBytes(max) bytes, allocated once.
 */
export function steerBatch(descriptors: usize, count: u32, cores: usize, ports: bool, workspace: usize, max: u32): void {
  const counts = workspace;
  memory.fill(counts, 0, SETS * 4);

  // 1. Parse; sort each hash input into its field set's buffer. A packet that arrived with a
  // hash (a NIC's RSS, whose key and table the host read back and programmed here) keeps it: it
  // goes where the device sent it, and its engine uses the same hash.
  for (let i: u32 = 0; i < count; i++) {
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    if (load<u16>(d + PKT_FLAGS) & PacketFlag.HASHED) {
      const queue = queueOf(load<u32>(d + PKT_HASH));
      store<u16>(d + PKT_QUEUE, <u16>queue);
      store<u16>(cores + (<usize>i << 1), <u16>coreOf(queue));
      continue;
    }
    if (packet.parsePacket(d, false, false) != packet.PARSED || packet.family == 0) {
      store<u16>(d + PKT_QUEUE, 0);
      store<u16>(cores + (<usize>i << 1), <u16>coreOf(0));
      continue;
    }
    const l4 = ports && packet.hasPorts;
    const fields = packet.family == 4 ? (l4 ? FieldSet.IPV4_L4 : FieldSet.IPV4) : (l4 ? FieldSet.IPV6_L4 : FieldSet.IPV6);
    const n = load<u32>(counts + (<usize>fields << 2));
    store<u32>(counts + (<usize>fields << 2), n + 1);
    const a: usize = packet.family == 4 ? 4 : 16;
    const t = inputsOf(workspace, max, fields) + <usize>n * <usize>inputLength(fields);
    // Loads and stores, not memory.copy: a copy of a few bytes is a call out of compiled code in V8.
    if (a == 4) {
      store<u32>(t, load<u32>(packet.sourceAddress));
      store<u32>(t + 4, load<u32>(packet.destinationAddress));
    } else {
      v128.store(t, v128.load(packet.sourceAddress));
      v128.store(t + 16, v128.load(packet.destinationAddress));
    }
    if (l4) {
      store<u16>(t + 2 * a, bswap<u16>(<u16>packet.sourcePort));
      store<u16>(t + 2 * a + 2, bswap<u16>(<u16>packet.destinationPort));
    }
    store<u32>(indicesOf(workspace, max, fields) + (<usize>n << 2), i);
  }

  // 2. One batch hash per field set; 3. hash, queue and core back to each packet.
  for (let fields = 0; fields < <i32>SETS; fields++) {
    const n = load<u32>(counts + (<usize>fields << 2));
    if (n == 0) continue;
    const inputs = inputsOf(workspace, max, fields), indices = indicesOf(workspace, max, fields);
    const hashes = hashesOf(workspace, max, fields);
    hashBatch(inputs, <i32>n, fields, hashes);
    for (let k: u32 = 0; k < n; k++) {
      const i = load<u32>(indices + (<usize>k << 2));
      const hash = load<u32>(hashes + (<usize>k << 2));
      const queue = queueOf(hash);
      const d = descriptors + <usize>i * PKT_DESCRIPTOR;
      store<u32>(d + PKT_HASH, hash);
      store<u16>(d + PKT_FLAGS, load<u16>(d + PKT_FLAGS) | PacketFlag.HASHED);
      store<u16>(d + PKT_QUEUE, <u16>queue);
      store<u16>(cores + (<usize>i << 1), <u16>coreOf(queue));
    }
  }
}

