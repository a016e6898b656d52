/**
 * The rssplane engine: what one WebAssembly instance exports to its host.
 * The memory plan and every enum are in shared/abi.ts.
 */
import { RSS_KEY, KEY_MAX, Status, HashFunction, InputTransform } from "./shared/abi";
import { buildSchedule } from "./rss/schedule";
import { setTransform } from "./rss/hash";
import { reserve, unreserve } from "./shared/reserve";

export { hashTuple, hashBatch, hashBatchScalar } from "./rss/hash";
export { configureReta, countQueues, queuesOf, retaSize } from "./rss/reta";
export { coveredBytes } from "./rss/schedule";
export { genConfigure, genFill, genStarted, genStateBytes } from "./gen/synthetic";
export { groupByCore, rebaseDescriptors, stageSlots, takeSlot } from "./ring/slot";
export { steerBatch, steerWorkspaceBytes } from "./ring/steer";
export { mergeHalves, mergeHalvesHolding, mergeHeld, mergeRecords, mergeWorkspaceBytes } from "./flow/merge";
export { configureTally } from "./flow/tally";
export { captureBegin, captureWalk } from "./capture/walk";
export {
  poolCreate, poolDestroy, poolSlotShift, poolPortBase, poolSize, poolAvailable, poolCoreOf, poolQueueOf,
  poolAlloc, poolFree, poolReserve, poolList, poolBenchAllocFree,
} from "./pool/pool";
export { poolSteer, poolPortRank } from "./pool/steer";
export { linkConfigure, linkTimers, linkBatch, linkPoll, linkResolve, linkConfirm } from "./link/link";

/**
 * Programs the RSS function: the key the host wrote at RSS_KEY (`keyLength` bytes), the hash
 * function and the input transform. Returns the input bytes the key covers (a field set whose
 * input is longer cannot be hashed), or a negative Status.
 */
export function configureRss(keyLength: i32, hfunc: i32, xfrm: i32): i32 {
  if (keyLength < 0 || keyLength > KEY_MAX) return -Status.BAD_SIZE;
  if (hfunc != HashFunction.TOEPLITZ && hfunc != HashFunction.XOR) return -Status.BAD_ARGUMENT;
  if (xfrm < InputTransform.NONE || xfrm > InputTransform.SYMMETRIC_OR_XOR) return -Status.BAD_ARGUMENT;
  memory.fill(RSS_KEY + keyLength, 0, KEY_MAX - keyLength);
  setTransform(xfrm);
  return buildSchedule(keyLength, hfunc);
}

/** Configuration-time buffers for the host (never called on the hot path); 0 when they do not fit. */
export function allocate(size: usize): usize {
  return reserve(size);
}

export function release(ptr: usize): void {
  unreserve(ptr);
}

/** True in the relaxed-SIMD build. */
export function relaxedSimd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}

export { configureFlows, processBatch, flushFlows, activeFlows, indexedFlows, resetCounters } from "./flow/engine";
export { configureIpfix, ipfixFlush, ipfixRoom, ipfixExportRecords } from "./flow/ipfix";
export {
  tcpConfigure, tcpMemoryBytes, tcpInput, tcpOutput, tcpPoll, tcpNextTimer, tcpRefreshNextHop, tcpStopOpening,
  tcpOutputPending, tcpConnect, tcpListen, tcpSend, tcpRecv, tcpClose, tcpAbort, tcpTcb, tcpFind, tcpDestinations,
  tcpPortsAvailable, tcpPortsSize, tcpDestination, tcpSetNeighbor, tcpPortsInUse,
} from "./tcp/endpoint";
export { wireStateBytes, wireConfigure, wireImpair, wireHeld, wireCount, wireSteer, wirePcap } from "./ring/wire";
export { configureBuckets, clearBuckets } from "./flow/buckets";
