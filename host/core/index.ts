/**
 * rssplane: RSS, computed to the bit. The isomorphic library (Node and browsers alike).
 *
 *   import { RssHasher } from 'rssplane';
 *   const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:4' });
 *   rss.hash({ src: '66.9.149.187', dst: '161.142.100.80', sport: 2794, dport: 1766 }); // 0x51ccc178
 */
export { RssplaneError, type ErrorCode } from './errors.js';
export { parseAddress, parseIPv4, parseIPv6, formatAddress, formatEndpoint, formatEndpointAt, parsePort, type Address, type Family } from './addr.js';
export { KEY_PRESETS, parseKey, formatKey, presetName, type KeyPreset } from './key.js';
export {
  FIELD_SETS, encodeTuple, parseFieldSet, parseHashFunction, parseTransform,
  type FieldSetInfo, type FieldSetName, type HashFunctionName, type TransformName, type Tuple,
} from './fields.js';
export { Reta, DEFAULT_RETA_SIZE } from './reta.js';
export { formatEthtool, parseEthtool, type EthtoolRss } from './ethtool.js';
export { formatEthtoolSet, type EthtoolSet } from './ethtool.js';
export { Engine, compileEngine, availableKernel, engineMemory, registerSharedBuilds, type CompiledEngine, type Kernel, type EngineExports, type PacketBatch } from './engine.js';
export { RssConfig, RssHasher, HashBatch, programEngine, type RssOptions } from './rss.js';
export { hashSteps, type HashStep } from './analysis.js';
export { type HashExplanation } from './rss.js';
export { fillRandom } from './random.js';
export { analyze, gf2Rank, mirroredBits, reachableEntries, type KeyAnalysis } from './analysis.js';
export { IPV4_VECTORS, IPV6_VECTORS, type VerificationVector } from './vectors.js';
export { SyntheticSource, type SyntheticOptions } from './synthetic.js';
export {
  FlowEngine, FlowTally, decodeRecord, flowJson, mergeHalves, mergeSplitFlows, SplitFlowMerger, DROP_REASON_NAMES,
  type FlowEngineOptions, type MergedFlows, type FlowRecord, type FlowDirection, type FlowStats, type FlowEventRecord,
  type TcpStateName, type CloseReasonName,
} from './flows.js';
export { ENGINE_BYTES, flowBufferBytes, flowTableBytes, maxFlowTable } from './limits.js';
export {
  Link, allocateSlot, clearSlot, slotFrames, addLinkStats, resolveMessage, formatMac,
  DEFAULT_LINK_TIMERS, DEFAULT_NEIGHBOURS, LINK_DROP_NAMES, NOT_FOR_US, NEIGHBOUR_STATES,
  type LinkAddresses, type LinkStats, type LinkTimers, type LinkDropName, type Neighbour, type ResolveResult, type SlotShape,
} from './link.js';
export { CaptureReader, type CaptureOptions, type CaptureSummary } from './capture.js';
export {
  PortPool, CorePool, defaultQueueCore, DEFAULT_PORT_RANGE,
  type AddressRef, type PoolPort, type PortPoolOptions, type SteerOptions,
} from './pool.js';
export {
  TcpEndpoint, TCP_STAT_NAMES, TCP_STATE_NAMES, ENDPOINT_LIMITS, httpRequest, serverBody, parseMac,
  type EndpointOptions, type TcpSettings, type HttpClientApp, type HttpServerApp, type RawApp, type EndpointStats,
  type ClientResults,
} from './endpoint.js';
export { Histogram, bucketLow, bucketWidth } from './histogram.js';
export { MemoryWire, WireSender, copySlot, loadSlot, pcapHeader, type Impairment, type PeerSide, type MemoryWireOptions } from './wire.js';
export {
  advise, adviseStats, linearPartition, weightsForRuns, rebalance, queueLoads, METRICS, DEFAULT_SLACK,
  type Advice, type AdviceInput, type Metric, type Diagnosis, type WeightFix, type TableFix, type QueueLoad, type MovedEntry,
} from './advise.js';
export { sumBuckets, topFlows, byTuple, type BucketLoad, type BucketDetail, type TopFlow } from './buckets.js';
export {
  readIpfix, stampMessages, templateMessage, templateSet, TEMPLATES, REVERSE_PEN, END_REASONS,
  type IpfixMessage, type Element as IpfixElement,
} from './ipfix.js';
