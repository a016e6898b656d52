/**
 * The indirection table and the queue -> core map, as the host programmed them into RETA and
 * QUEUE_CORE. A NIC indexes its table with the low bits of the hash: queue = reta[hash & (size-1)].
 */
import { QUEUES_MAX, QUEUE_CORE, RETA, RETA_MAX, Status } from "../shared/abi";

let retaMask: u32 = 0;
let queueCount: i32 = 0;

/**
 * Takes the table the host wrote at RETA (`size` u16 entries, a power of two) and the map it wrote
 * at QUEUE_CORE (`queues` u16 entries). Checks what the hot path relies on.
 */
export function configureReta(size: i32, queues: i32): i32 {
  if (size < 1 || size > RETA_MAX || (size & (size - 1)) != 0) return Status.BAD_SIZE;
  if (queues < 1 || queues > QUEUES_MAX) return Status.BAD_SIZE;
  for (let i = 0; i < size; i++) {
    if (<i32>load<u16>(RETA + (i << 1)) >= queues) return Status.BAD_QUEUE;
  }
  retaMask = <u32>(size - 1);
  queueCount = queues;
  return Status.OK;
}

/** Every queue of the table is served by one core (QUEUE_CORE as it stands): no flow splits. */
export function oneCore(): bool {
  for (let q = 1; q < queueCount; q++) {
    if (load<u16>(QUEUE_CORE + (q << 1)) != load<u16>(QUEUE_CORE)) return false;
  }
  return true;
}

export function retaSize(): i32 {
  return queueCount == 0 ? 0 : <i32>retaMask + 1;
}

// @ts-ignore: decorator
@inline export function queueOf(hash: u32): u32 {
  return load<u16>(RETA + ((hash & retaMask) << 1));
}

// @ts-ignore: decorator
@inline export function coreOf(queue: u32): u32 {
  return load<u16>(QUEUE_CORE + (queue << 1));
}

/** `count` u32 hashes at `hashes` to u16 queues at `out`. */
export function queuesOf(hashes: usize, count: i32, out: usize): void {
  for (let i = 0; i < count; i++) {
    store<u16>(out + (<usize>i << 1), <u16>queueOf(load<u32>(hashes + (<usize>i << 2))));
  }
}

/** Adds each of `count` hashes at `hashes` to its queue's u32 counter at `counts` (queues entries). */
export function countQueues(hashes: usize, count: i32, counts: usize): void {
  for (let i = 0; i < count; i++) {
    const c = counts + (<usize>queueOf(load<u32>(hashes + (<usize>i << 2))) << 2);
    store<u32>(c, load<u32>(c) + 1);
  }
}
