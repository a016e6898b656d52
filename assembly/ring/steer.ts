/**
 * Software RSS for the dispatcher: which core each packet of a batch goes to, decided exactly as a
 * NIC (and the flow engine) decides it: the packet's RSS hash under the programmed key, field set
 * and transform, the indirection table's queue for it, the core serving that queue.
 *
 * The hash and queue are written into each descriptor (PKT_HASH, PKT_QUEUE, PacketFlag.HASHED), so
 * the receiving core's flow engine uses them instead of hashing again. Packets RSS cannot hash
 * (not IP, or malformed) go to queue 0, as on a NIC; the core that gets them counts or drops them.
 */
import { FieldSet, PacketFlag, PKT_DESCRIPTOR, PKT_FLAGS, PKT_HASH, PKT_QUEUE, STEER_TUPLE } from "../shared/abi";
import * as packet from "../wire/packet";
import { hashTuple } from "../rss/hash";
import { coreOf, queueOf } from "../rss/reta";

/**
 * Writes a u16 core per packet at `cores` for `count` descriptors at `descriptors`. `ports`:
 * the configured field set includes TCP/UDP ports (-l4).
 */
export function steerBatch(descriptors: usize, count: u32, cores: usize, ports: bool): void {
  const tuple = <usize>STEER_TUPLE;
  for (let i: u32 = 0; i < count; i++) {
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    let queue: u32 = 0;
    if (packet.parsePacket(d, false) == packet.PARSED && packet.family != 0) {
      const a: usize = packet.family == 4 ? 4 : 16;
      memory.copy(tuple, packet.sourceAddress, a);
      memory.copy(tuple + a, packet.destinationAddress, a);
      const l4 = ports && packet.hasPorts;
      if (l4) {
        store<u16>(tuple + 2 * a, bswap<u16>(<u16>packet.sourcePort));
        store<u16>(tuple + 2 * a + 2, bswap<u16>(<u16>packet.destinationPort));
      }
      const fields = packet.family == 4 ? (l4 ? FieldSet.IPV4_L4 : FieldSet.IPV4) : (l4 ? FieldSet.IPV6_L4 : FieldSet.IPV6);
      const hash = hashTuple(tuple, fields);
      queue = queueOf(hash);
      store<u32>(d + PKT_HASH, hash);
      store<u16>(d + PKT_FLAGS, load<u16>(d + PKT_FLAGS) | PacketFlag.HASHED);
    }
    store<u16>(d + PKT_QUEUE, <u16>queue);
    store<u16>(cores + (<usize>i << 1), <u16>coreOf(queue));
  }
}
