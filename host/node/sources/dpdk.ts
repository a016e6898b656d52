/**
 * DPDK ports as a packet source: the native shim (native/, built when libdpdk is there) and what
 * rssplane decides on top of it.
 *
 *   const dpdk = loadDpdk();                                   // RssplaneError ENOTSUP without the addon
 *   initEal(dpdk, splitEal('--no-huge -m 512 --no-pci --vdev net_null0'));
 *   const port = setUpPort(dpdk, 0, config, { cores: 2 });     // RSS as the device really does it
 *   // in each worker thread, for each queue it polls:
 *   const rx = new DpdkReceiver(dpdk, engine, port.port, [0], ring, true);
 *   for (let b = rx.next(); ...) flows.process(b);
 *
 * Who hashes: a port that offers RSS is programmed with the run's key and table (the key masked
 * to the hash types it offers), then its key and table are read back, and the run's RssConfig is
 * built from them, so software and hardware agree; packets carry the NIC's hash (PKT_HASH with
 * PacketFlag.HASHED). A port without RSS (net_pcap, net_ring, net_null...) is received on the
 * queues it has and spread by software RSS, as the capture dispatcher does.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import { dlopen } from '../addons.js';
import type { Engine, PacketBatch } from '../../core/engine.js';
import { invalid, RssplaneError, type ErrorCode } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { Reta } from '../../core/reta.js';
import { RssConfig } from '../../core/rss.js';

/** What `portInfo` says a port offers. Hash types are RTE_ETH_RSS_* bits. */
export interface DpdkPortInfo {
  port: number;
  name: string;
  driver: string;
  mac: string;
  /** NUMA socket, -1 when unknown (virtual devices) */
  socket: number;
  maxRxQueues: number;
  maxTxQueues: number;
  /** as configured now (0 before configure) */
  rxQueues: number;
  txQueues: number;
  rxDescriptorsMax: number;
  txDescriptorsMax: number;
  rssHashTypes: bigint;
  /** bytes; 0 when the driver does not say */
  hashKeySize: number;
  /** indirection table entries; 0: no table */
  retaSize: number;
  rxOffloads: bigint;
  maxRxPacketLength: number;
}

export interface DpdkConfigured {
  rss: boolean;
  rssHashTypes: bigint;
  rxDescriptors: number;
  txDescriptors: number;
  mbufs: number;
  retaProgrammed: boolean;
}

export interface DpdkStats {
  ipackets: number;
  opackets: number;
  ibytes: number;
  obytes: number;
  /** dropped by the device: no free receive descriptor (the host was too slow) */
  imissed: number;
  ierrors: number;
  oerrors: number;
  /** receive failures for lack of mbufs */
  rxNombuf: number;
  queueIpackets: number[];
  queueOpackets: number[];
}

/** A receive queue bound to a worker's memory; `fill(slot)` fills a ring slot (abi.ts layout). */
export interface NativeRxQueue {
  fill(slot: number): number;
  close(): void;
}

export interface NativeTxQueue {
  send(slot: number): number;
  close(): void;
}

/** The addon's surface (native/*.cc). Ports are numbers; throws Errors with an errno `code`. */
export interface DpdkAddon {
  ealInit(args: string[], quiet: boolean): { ok: boolean; ports?: number; code?: string; error?: string; log: string };
  ealState(): 'none' | 'ready' | 'failed' | 'cleaned';
  registerThread(): number;
  cleanup(): void;
  portCount(): number;
  portInfo(port: number): DpdkPortInfo;
  configure(port: number, options: {
    rxQueues: number; txQueues: number; rxDescriptors?: number; txDescriptors?: number;
    rssKey?: Uint8Array; rssHashTypes?: bigint; reta?: Uint16Array; mbufs?: number;
  }): DpdkConfigured;
  rssConf(port: number): { key: Uint8Array; rssHashTypes: bigint } | null;
  retaQuery(port: number): Uint16Array | null;
  start(port: number): void;
  stop(port: number): void;
  close(port: number): void;
  stats(port: number): DpdkStats;
  /** (port, queue, memory over the engine's SharedArrayBuffer, slotPackets, slotBytes, deviceMicroseconds) */
  RxQueue: new (port: number, queue: number, memory: Uint8Array, slotPackets: number, slotBytes: number, deviceMicroseconds: boolean) => NativeRxQueue;
  TxQueue: new (port: number, queue: number, memory: Uint8Array, slotPackets: number, slotBytes: number) => NativeTxQueue;
  /** SLOT_DESCRIPTORS * 65536 + PKT_DESCRIPTOR as built: a stale addon does not match */
  abi: number;
}

const INSTALL = 'apt-get install libdpdk-dev pkg-config g++, then npm ci';
let addon: DpdkAddon | undefined;

/**
 * The addon, loaded once per thread. It sits next to the bundles (dist/rssplane_dpdk.node);
 * RSSPLANE_DPDK_ADDON names another (and only that one). Throws ENOTSUP, saying what to install, when it was not built.
 */
export function loadDpdk(): DpdkAddon {
  if (addon) return addon;
  const override = process.env.RSSPLANE_DPDK_ADDON;
  const candidates = override ? [resolve(override)] : [
    join(import.meta.dirname, 'rssplane_dpdk.node'),
    join(import.meta.dirname, '../../../dist/rssplane_dpdk.node'),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new RssplaneError('ENOTSUP', `this rssplane was built without DPDK (no libdpdk at install time): ${INSTALL}`, 'dpdk');
  const loaded = dlopen<DpdkAddon>(path);
  if (loaded.abi !== SLOT_DESCRIPTORS * 65536 + PKT_DESCRIPTOR) {
    throw new RssplaneError('ENOTSUP', `the DPDK shim at ${path} was built for another slot layout: rebuild it (npm run build)`, 'dpdk');
  }
  addon = loaded;
  return loaded;
}

/** Native errors carry an errno `code`; anything else is a bug and passes through. */
export function dpdkError(e: unknown, subject = 'dpdk'): unknown {
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && !(e instanceof RssplaneError)) {
    const code = (e as unknown as { code: string }).code;
    const known: ErrorCode[] = ['EINVAL', 'ENOMEM', 'ENOENT', 'ENODEV', 'ENOTSUP'];
    return new RssplaneError(known.includes(code as ErrorCode) ? (code as ErrorCode) : 'EIO', e.message, subject);
  }
  return e;
}

/** Calls into the addon with its errors turned into RssplaneError values. */
export function native<T>(fn: () => T, subject?: string): T {
  try {
    return fn();
  } catch (e) {
    throw dpdkError(e, subject);
  }
}

/** Splits an `--eal` string into arguments as a shell would (spaces; single or double quotes). */
export function splitEal(text: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let current = '';
  let last = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const part = m[1] ?? m[2] ?? m[3]!;
    // Pieces written without a space between them (net_pcap0,rx_pcap="a b.pcap") are one argument.
    if (m.index === last) current += part;
    else {
      if (last >= 0) args.push(current);
      current = part;
    }
    last = re.lastIndex;
  }
  if (last >= 0) args.push(current);
  return args;
}

/**
 * The EAL arguments rssplane passes: the user's, plus `--no-shconf` (no shared files, so runs
 * and tests can share a machine) and `--no-telemetry` unless the user chose otherwise.
 */
export function ealArguments(user: readonly string[]): string[] {
  const has = (...names: string[]) => user.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
  const args = [...user];
  if (!has('--no-shconf', '--in-memory', '--file-prefix', '--proc-type')) args.push('--no-shconf');
  if (!has('--telemetry', '--no-telemetry')) args.push('--no-telemetry');
  return args;
}

/**
 * The line of EAL's output that says what was wrong with its arguments (EAL prints its usage,
 * getopt's complaint, and a generic FATAL line; the specific one is what a user needs).
 */
export function ealProblem(log: string, error: string): string {
  const lines = log.split('\n').filter((l) => l && !/^\s/.test(l)).map((l) => l.replace(/^(rssplane|EAL): /, '').trim());
  if (lines.some((l) => /hugepage/i.test(l))) return 'EAL found no hugepages: mount hugetlbfs, or add --no-huge -m 512 to --eal';
  const noise = /^(Detected |Selected IOVA|Physical addresses|Usage:|EAL (common|Linux) options|EAL options for DEBUG|TELEMETRY|FATAL: Invalid 'command line'|Invalid 'command line')/;
  const specific = lines.filter((l) => !noise.test(l));
  return specific[0] ?? `EAL: ${error}`;
}

/**
 * Initialises DPDK's EAL in this process (once: EAL allows no second try). Bad arguments are the
 * user's mistake: EINVAL naming what EAL objected to. Returns EAL's notes about devices that
 * failed to come up (a --vdev whose file is missing...), for the error when a port is absent.
 */
export function initEal(dpdk: DpdkAddon, user: readonly string[]): { ports: number; notes: string[] } {
  const args = ealArguments(user);
  const quiet = !user.some((a) => a.startsWith('--log-level')) && !process.env.RSSPLANE_DEBUG;
  const r = native(() => dpdk.ealInit(args, quiet), '--eal');
  if (process.env.RSSPLANE_DEBUG) process.stderr.write(r.log);
  if (!r.ok) throw new RssplaneError('EINVAL', `bad --eal "${user.join(' ')}": ${ealProblem(r.log, r.error ?? r.code ?? 'failed')}`, '--eal');
  // What went wrong with a device, most specific first: "Couldn't open a.pcap: ..." before
  // "failed to initialize net_pcap0" before "Bus (vdev) probe failed."
  const notes = r.log.split('\n').filter((l) => /fail|couldn't|cannot|unable|error/i.test(l))
    .map((l) => l.trim().replace(/^(EAL: |\w+\(\): )/, ''));
  return { ports: r.ports ?? 0, notes };
}

/** A port as the run uses it: its description, its queues, and the RSS it really does. */
export interface DpdkPort {
  port: number;
  info: DpdkPortInfo;
  rxQueues: number;
  txQueues: number;
  /** the device hashes and steers (RSS on, key and table read back), or software does */
  rss: 'device' | 'software';
  /** the run's RSS: the device's key and table when it hashes, else the configured one */
  config: RssConfig;
  /** the driver stamps packets with microseconds since the epoch (net_pcap: the capture's time) */
  deviceTimestamps: boolean;
  /** notes for the user: what the device did not take */
  warnings: string[];
}

// RTE_ETH_RSS_* bits (rte_ethdev.h, DPDK 22.11) and their names, for requesting and printing.
const RSS_TYPE_NAMES: Array<[bigint, string]> = [
  [1n << 2n, 'ipv4'], [1n << 3n, 'frag-ipv4'], [1n << 4n, 'ipv4-tcp'], [1n << 5n, 'ipv4-udp'], [1n << 6n, 'ipv4-sctp'],
  [1n << 7n, 'ipv4-other'], [1n << 8n, 'ipv6'], [1n << 9n, 'frag-ipv6'], [1n << 10n, 'ipv6-tcp'], [1n << 11n, 'ipv6-udp'],
  [1n << 12n, 'ipv6-sctp'], [1n << 13n, 'ipv6-other'], [1n << 14n, 'l2-payload'], [1n << 15n, 'ipv6-ex'],
  [1n << 16n, 'ipv6-tcp-ex'], [1n << 17n, 'ipv6-udp-ex'], [1n << 18n, 'port'], [1n << 19n, 'vxlan'], [1n << 20n, 'geneve'],
  [1n << 21n, 'nvgre'], [1n << 23n, 'gtpu'], [1n << 24n, 'eth'], [1n << 25n, 's-vlan'], [1n << 26n, 'c-vlan'],
  [1n << 27n, 'esp'], [1n << 28n, 'ah'], [1n << 29n, 'l2tpv3'], [1n << 30n, 'pfcp'], [1n << 31n, 'pppoe'],
  [1n << 32n, 'ecpri'], [1n << 33n, 'mpls'], [1n << 34n, 'ipv4-chksum'], [1n << 35n, 'l4-chksum'], [1n << 36n, 'l2tpv2'],
  [1n << 63n, 'l3-src-only'], [1n << 62n, 'l3-dst-only'], [1n << 61n, 'l4-src-only'], [1n << 60n, 'l4-dst-only'],
];
/** RTE_ETH_RSS_IP: addresses of every IPv4 and IPv6 packet. */
const RSS_IP = (1n << 2n) | (1n << 3n) | (1n << 7n) | (1n << 8n) | (1n << 9n) | (1n << 13n) | (1n << 15n);
/** RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP: addresses and ports. */
const RSS_L4 = (1n << 4n) | (1n << 10n) | (1n << 16n) | (1n << 5n) | (1n << 11n) | (1n << 17n);

export function rssTypeNames(bits: bigint): string[] {
  return RSS_TYPE_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
}

/**
 * The hash types a field set asks a NIC for. The engine hashes both families with the field
 * set's choice of ports (ipv4-l4 hashes TCP over IPv6 as ipv6-l4), so both are asked for.
 */
export function rssHashTypes(config: RssConfig): bigint {
  return FIELD_SETS[config.fields].ports ? RSS_IP | RSS_L4 : RSS_IP;
}

export interface PortOptions {
  /** cores of the run: the default receive queue count of a port without RSS */
  cores: number;
  /** receive queues to configure (default: the table's queue count with RSS; see below without) */
  rxQueues?: number;
  /** transmit queues (default 1); openPort also takes a choice made from what the port offers */
  txQueues?: number;
}

/**
 * Configures and starts `port` for a run with `config`, and returns the RSS it really does.
 *
 * With RSS (the port offers hash types for the field set and a table, and more than one queue is
 * wanted): as many receive queues as the table names, the key and table programmed, then read
 * back: the returned config holds the device's key and table. Without: the queues the device has
 * (net_pcap: one per rx_pcap file) up to the core count, and the configured RSS for software.
 */
export function setUpPort(dpdk: DpdkAddon, port: number, config: RssConfig, options: PortOptions): DpdkPort {
  const info = native(() => dpdk.portInfo(port), '--port');
  const warnings: string[] = [];
  const wanted = rssHashTypes(config);
  const tableQueues = config.reta?.queues ?? options.cores;
  const offersRss = (info.rssHashTypes & wanted) !== 0n && info.retaSize > 0 && info.maxRxQueues > 1;
  const files = info.driver === 'net_pcap';
  let rxQueues = options.rxQueues ?? (offersRss ? tableQueues : files ? info.maxRxQueues : Math.min(info.maxRxQueues, options.cores));
  if (rxQueues > info.maxRxQueues) {
    throw new RssplaneError('EINVAL', `bad --rx-queues "${rxQueues}": port ${port} (${info.driver}) has at most ${info.maxRxQueues} receive queues`, '--rx-queues');
  }
  rxQueues = Math.max(1, rxQueues);
  const useRss = offersRss && rxQueues > 1 && rxQueues >= tableQueues;
  if (offersRss && !useRss && rxQueues > 1) warnings.push(`the table names ${tableQueues} queues and the port has ${rxQueues}: spreading by software RSS`);
  const txQueues = Math.min(options.txQueues ?? 1, Math.max(1, info.maxTxQueues));
  const configured = native(() => dpdk.configure(port, {
    rxQueues, txQueues,
    ...(useRss ? { rssKey: config.key, rssHashTypes: wanted, reta: config.reta?.table } : {}),
  }), '--port');
  native(() => dpdk.start(port), '--port');

  let truth = config;
  let rss: DpdkPort['rss'] = 'software';
  if (configured.rss) {
    const conf = native(() => dpdk.rssConf(port));
    const table = native(() => dpdk.retaQuery(port));
    if (conf && table) {
      if (config.hfunc !== 'toeplitz' || config.xfrm !== 'none') {
        warnings.push(`port ${port} hashes with Toeplitz and no input transform; the run follows the port, not --hfunc ${config.hfunc} --xfrm ${config.xfrm}`);
      }
      const missing = wanted & ~configured.rssHashTypes;
      if (missing) warnings.push(`port ${port} does not hash ${rssTypeNames(missing).join(', ')}; such packets reach queue 0 unhashed by the NIC`);
      truth = RssConfig.from({ key: conf.key, fields: config.fields, hfunc: 'toeplitz', xfrm: 'none', reta: new Reta(table) });
      rss = 'device';
    } else {
      warnings.push(`port ${port} does RSS but does not say with which key and table: spreading by software RSS`);
    }
  }
  return { port, info, rxQueues, txQueues, rss, config: truth, deviceTimestamps: files, warnings };
}

/** Stops and closes a port (queues closed first), then EAL's cleanup: the end of a run. */
export function closePort(dpdk: DpdkAddon, port: number): void {
  native(() => {
    dpdk.stop(port);
    dpdk.close(port);
  });
}

/**
 * A worker's receive side: the DPDK receive queues this thread polls, each filled straight into
 * one staging slot in the engine's memory (abi.ts slot layout), made processable in place.
 * `next()` polls the queues in turn and returns the first non-empty slot as a batch, or an empty
 * batch after a round in which every queue was empty.
 */
export class DpdkReceiver {
  readonly slot: number;
  private readonly rx: NativeRxQueue[];
  private turn = 0;
  /** packets received by this thread */
  packets = 0;

  constructor(
    private readonly engine: Engine,
    port: number,
    readonly queues: readonly number[],
    private readonly shape: { slotPackets: number; slotBytes: number },
    deviceTimestamps: boolean,
  ) {
    const dpdk = loadDpdk();
    this.slot = engine.allocate(shape.slotBytes);
    const memory = new Uint8Array(engine.sharedBuffer);
    this.rx = queues.map((q) => native(() => new dpdk.RxQueue(port, q, memory, shape.slotPackets, shape.slotBytes, deviceTimestamps)));
  }

  next(): PacketBatch {
    for (let i = 0; i < this.rx.length; i++) {
      const k = (this.turn + i) % this.rx.length;
      const n = this.rx[k]!.fill(this.slot);
      if (n === 0) continue;
      this.turn = k + 1;
      this.packets += n;
      const count = this.engine.exports.takeSlot(this.slot, this.shape.slotPackets);
      return { descriptors: this.slot + SLOT_DESCRIPTORS, count };
    }
    return { descriptors: this.slot + SLOT_DESCRIPTORS, count: 0 };
  }

  close(): void {
    for (const q of this.rx) q.close();
  }
}

/** What openPort reads: the DPDK options (host/node/options.ts dpdkOptions). */
export interface PortFlags {
  eal?: string;
  port: string;
  rxQueues?: string;
}

/**
 * EAL from --eal, then the port from --port, configured with `config` (setUpPort): what `run
 * --input dpdk`, and the link layer of connect and serve, receive on. Bad EAL arguments and a
 * missing port are the user's mistakes (EINVAL / ENODEV, one line naming the option).
 */
export function openPort(
  dpdk: DpdkAddon, flags: PortFlags, config: RssConfig,
  options: Omit<PortOptions, 'txQueues'> & { txQueues?: number | ((info: DpdkPortInfo) => number) },
): DpdkPort {
  if (flags.eal === undefined) {
    invalid('--eal', '', 'give DPDK its EAL arguments, e.g. --eal "--no-huge -m 512 --no-pci --vdev net_pcap0,rx_pcap=trace.pcap"');
  }
  const { notes } = initEal(dpdk, splitEal(flags.eal));
  const text = flags.port.trim();
  if (!/^[0-9]+$/.test(text)) invalid('--port', flags.port, 'expected a whole number >= 0');
  const number = Number(text);
  const count = native(() => dpdk.portCount());
  try {
    native(() => dpdk.portInfo(number));
  } catch (e) {
    if (!(e instanceof RssplaneError) || e.code !== 'ENODEV') throw e;
    const why = count ? `EAL found ${count} port${count > 1 ? 's' : ''}` : `EAL found no port (${notes[0] ?? 'give a --vdev, or bind a NIC to vfio-pci'})`;
    throw new RssplaneError('ENODEV', `bad --port "${number}": no such DPDK port; ${why}`, '--port');
  }
  let rxQueues = options.rxQueues;
  if (flags.rxQueues !== undefined) {
    if (!/^[0-9]+$/.test(flags.rxQueues.trim()) || Number(flags.rxQueues) < 1) {
      invalid('--rx-queues', flags.rxQueues, 'expected a whole number >= 1');
    }
    rxQueues = Number(flags.rxQueues);
  }
  const txQueues = typeof options.txQueues === 'function' ? options.txQueues(native(() => dpdk.portInfo(number))) : options.txQueues;
  return setUpPort(dpdk, number, config, { ...options, rxQueues, txQueues });
}
