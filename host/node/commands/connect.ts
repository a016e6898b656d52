/**
 * rssplane connect: HTTP/1.1 connections opened from RSS-aligned port pools, one TCP endpoint
 * engine per core. Without a URL it runs against the built-in server over the in-memory wire
 * (client cores and server cores, software RSS both ways): the zero-setup demonstration that
 * every packet of a connection is handled on the core that opened it.
 */
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { availableKernel, Engine } from '../../core/engine.js';
import { invalid, RssplaneError } from '../../core/errors.js';
import { FIELD_SETS, type FieldSetName } from '../../core/fields.js';
import { presetName } from '../../core/key.js';
import { PortPool } from '../../core/pool.js';
import { DEFAULT_RETA_SIZE, Reta } from '../../core/reta.js';
import type { RssConfig } from '../../core/rss.js';
import { json, out, stderrIsTerminal } from '../io.js';
import { explicitIn, rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';
import type { ConnectPlan, EndpointResult } from '../runner/connect-plan.js';
import { runConnect, type ConnectProgress, type ConnectResult } from '../runner/connect.js';
import { rssValues } from '../runner/plan.js';
import { RunFailure } from '../runner/runner.js';
import { linkOptions, parseLinkFlags, type LinkFlags } from '../link/options.js';
import { connectOnLink, linkTarget } from './link-run.js';

/** The in-memory wire's addresses (198.18.0.0/15, 2001:db8::/32: benchmarking and documentation ranges). */
export const MEMORY_CLIENT = { 4: '198.18.0.1', 6: '2001:db8::1' } as const;
export const MEMORY_SERVER = { 4: '198.18.0.2', 6: '2001:db8::2' } as const;

export const LIMITS = {
  cores: 256,
  connections: Number.MAX_SAFE_INTEGER,
  requestsPerConnection: 2 ** 32 - 1,
  srcCount: 256,
  responseBytes: 2 ** 40,
  durationS: 31_536_000,
  timeoutS: 2_000_000,
  timeWaitS: 2_000_000,
};

/**
 * Whether any link option (host/node/link/options.ts: --eal, --port, --rx-queues, --dpdk-idle,
 * --ip, --ip6, --gateway, --mac) was given. They are checked (parseLinkFlags: a mistake is named
 * as on the link's own commands) before the link is refused.
 */
export function linkGiven(flags: LinkFlags, explicit: (name: string) => boolean): string | undefined {
  const given = ['eal', 'port', 'rxQueues', 'dpdkIdle', 'ip', 'ip6', 'mac'].find((k) => explicit(k)) ?? (flags.gateway.length ? 'gateway' : undefined);
  if (given === undefined) return undefined;
  if (flags.ip !== undefined || flags.ip6 !== undefined || flags.gateway.length || flags.mac !== undefined) parseLinkFlags(flags);
  return `--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** One line saying what a URL needs (a link), or what link options need (a URL). */
export function refuseLink(what: string): never {
  throw new RssplaneError('EINVAL', `${what} needs a link to a real network: --eal (DPDK: the port) and --ip ADDR/LEN or --ip6 ADDR/LEN; without a URL and link options, rssplane runs the built-in in-memory wire`, 'link');
}

/** A number of seconds (decimal allowed) within (0, max]. */
export function seconds(text: string, subject: string, max: number): number {
  const v = Number(text);
  if (!/^[0-9]*\.?[0-9]+$/.test(text.trim()) || !(v > 0) || v > max) invalid(subject, text, `expected seconds > 0, at most ${max.toLocaleString('en-US')}`);
  return v;
}

/** A whole number within [min, max], naming the maximum when it is over. */
export function bounded(text: string | undefined, subject: string, fallback: number, min: number, max: number): number {
  const v = wholeNumber(text, subject, fallback, min);
  if (v > max) invalid(subject, text, `at most ${max.toLocaleString('en-US')}`);
  return v;
}

export function portRange(text: string, subject: string): [number, number] {
  const m = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(text.trim());
  const lo = Number(m?.[1]), hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo > hi) invalid(subject, text, 'expected LO-HI with 1 <= LO <= HI <= 65535');
  return [lo, hi];
}

/** Shares `total` over `n` parts as evenly as whole numbers go (the first parts get the extra). */
export function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

export interface WireSetup {
  clientCores: number;
  serverCores: number;
  family: 4 | 6;
  config: RssConfig;
  concurrency: number;
  connections: number;
  requestsPerConnection: number;
  close: 'fin' | 'rst';
  ports: 'pool' | 'random';
  portRange: [number, number];
  srcCount: number;
  responseBytes: number;
  timeoutMs: number;
  timeWaitMs: number;
  digest: boolean;
  listen: number;
  impair?: { drop: number; duplicate: number; reorder: number; seed: number };
  pcap: boolean;
  seed: number;
}

/**
 * The ports each client core has for the server (the pools the endpoints will build, built once
 * here from the same RssConfig to check the concurrency against them), in all addresses.
 */
export async function portsPerCore(s: WireSetup): Promise<number[]> {
  const [lo, hi] = s.portRange;
  if (s.ports === 'random') {
    return Array.from({ length: s.clientCores }, (_, c) => {
      let n = 0;
      for (let p = lo; p <= hi; p++) if (p % s.clientCores === c) n++;
      return n * s.srcCount;
    });
  }
  const fields: FieldSetName = s.family === 6 ? 'ipv6-l4' : 'ipv4-l4';
  const pool = await PortPool.create(s.config.with({ fields }), {
    src: MEMORY_CLIENT[s.family], srcCount: s.srcCount, dst: MEMORY_SERVER[s.family], dport: s.listen, cores: s.clientCores,
    queueCore: Array.from({ length: s.config.reta!.queues }, (_, q) => q % s.clientCores), ports: s.portRange,
  }, await Engine.create());
  return Array.from({ length: s.clientCores }, (_, c) => pool.core(c).size);
}

/** The plan of an in-memory run. */
export function wirePlan(s: WireSetup): ConnectPlan {
  const config = s.config;
  const serverConfig = config.with({ reta: Reta.equal(config.reta!.size, s.serverCores) });
  const concurrency = split(s.concurrency, s.clientCores);
  const connections = s.connections === 0 ? concurrency.map(() => 0) : split(s.connections, s.clientCores);
  const chunkBytes = 4096;
  const perResponse = Math.min(15, Math.ceil((s.responseBytes + 300) / chunkBytes) + 1);
  return {
    kernel: availableKernel(), clientCores: s.clientCores, serverCores: s.serverCores,
    rss: rssValues(config), serverRss: rssValues(serverConfig),
    clientQueueCores: Array.from({ length: config.reta!.queues }, (_, q) => q % s.clientCores),
    serverQueueCores: Array.from({ length: serverConfig.reta!.queues }, (_, q) => q % s.serverCores),
    epochNs: BigInt(Date.now()) * 1_000_000n, clockBase: BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint(), seed: s.seed,
    client: {
      address: MEMORY_CLIENT[s.family], srcCount: s.srcCount, server: MEMORY_SERVER[s.family], port: s.listen, path: '/',
      concurrency, connections, requestsPerConnection: s.requestsPerConnection, close: s.close, timeoutMs: s.timeoutMs,
      digest: s.digest, ports: s.ports, portRange: s.portRange,
    },
    server: { responseBytes: s.responseBytes, idleMs: 75_000 },
    endpoint: {
      clientTcbs: Math.max(...concurrency) * 2 + 64, serverTcbs: s.concurrency * 2 + 1024, timeWaitMs: s.timeWaitMs,
      // A client's TIME-WAIT holds its ports: never more entries than its pool has ports.
      clientTimeWaits: Math.min(262_144, 65_536 * s.srcCount), serverTimeWaits: 262_144,
      chunks: Math.min(65_536, s.concurrency * perResponse + 1024), chunkBytes,
    },
    ringSlots: 16, impair: s.impair, pcap: s.pcap,
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const stat = (rs: EndpointResult[], name: string) => sum(rs.map((r) => r.stats[name] ?? 0));

/** The connect summary (MISSION.md's fields, and more). */
export function connectSummary(r: ConnectResult, s: WireSetup) {
  const status: Record<string, number> = {};
  const digests: Record<string, number> = {};
  for (const c of r.clients) {
    for (const [k, v] of Object.entries(c.status ?? {})) status[k] = (status[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.digests ?? {})) digests[k] = (digests[k] ?? 0) + v;
  }
  const connections = stat(r.clients, 'app_completed');
  const requests = stat(r.clients, 'app_responses');
  const faults = [...r.clients, ...r.servers].reduce((f, x) => ({
    dropped: f.dropped + x.faults.dropped, duplicated: f.duplicated + x.faults.duplicated, reordered: f.reordered + x.faults.reordered,
  }), { dropped: 0, duplicated: 0, reordered: 0 });
  const inbound = stat(r.clients, 'received') - stat(r.clients, 'misdelivered');
  return {
    connections, requests, status,
    errors: {
      connect_timeout: stat(r.clients, 'app_connect_timeout'), reset: stat(r.clients, 'app_reset'), timeout: stat(r.clients, 'app_timeout'),
      bad_response: stat(r.clients, 'app_bad_response'), port_exhausted: stat(r.clients, 'port_exhausted'),
    },
    connections_per_s: Math.round(connections / r.seconds),
    requests_per_s: Math.round(requests / r.seconds),
    bytes_received: stat(r.clients, 'app_body_bytes'),
    latency_ms: r.latency.summaryMs(),
    connect_ms: r.connectTime.summaryMs(),
    retransmits: stat(r.clients, 'retransmits'),
    misdelivered: stat(r.clients, 'misdelivered'),
    misdelivered_share: inbound > 0 ? Math.round((stat(r.clients, 'misdelivered') / inbound) * 10_000) / 10_000 : 0,
    ports: s.ports,
    cores: r.clients.map((c) => ({
      core: c.core, connections: c.stats.app_completed ?? 0, misdelivered: c.stats.misdelivered ?? 0,
      ports_available: c.ports?.available ?? 0, ports: c.ports?.size ?? 0, port_exhausted: c.stats.port_exhausted ?? 0,
      segments: c.stats.received ?? 0,
    })),
    seconds: Math.round(r.seconds * 1e6) / 1e6,
    digests,
    server: {
      cores: r.servers.length, connections: stat(r.servers, 'app_served_connections'), requests: stat(r.servers, 'app_served_requests'),
      bytes_sent: stat(r.servers, 'app_served_bytes'), retransmits: stat(r.servers, 'retransmits'),
      time_waits: stat(r.servers, 'time_waits_active'), time_wait_recycled: stat(r.servers, 'time_wait_recycled'),
    },
    wire: { kind: 'memory', family: s.family, ...faults },
    segments: { client_received: stat(r.clients, 'received'), server_received: stat(r.servers, 'received'), dropped: stat([...r.clients, ...r.servers], 'dropped') },
  };
}

export interface ConnectFlags extends RssFlags, LinkFlags {
  cores?: string;
  serverCores?: string;
  connections?: string;
  duration?: string;
  concurrency: string;
  requestsPerConnection: string;
  ports: 'pool' | 'random';
  portRange: string;
  close: 'fin' | 'rst';
  srcCount: string;
  responseBytes: string;
  timeout: string;
  timeWait: string;
  ipv6?: boolean;
  loss: string;
  duplicate: string;
  reorder: string;
  seed: string;
  digest: boolean;
  pcap?: string;
  json?: boolean;
  progress: boolean;
}

function share(text: string, subject: string): number {
  const v = Number(text);
  if (!/^[0-9]*\.?[0-9]+$/.test(text.trim()) || !(v >= 0 && v < 1)) invalid(subject, text, 'a share from 0 to below 1 (0.01 is 1%)');
  return v;
}

export function connectCommand(): Command {
  const cmd = new Command('connect')
    .summary('open HTTP connections from RSS-aligned port pools, one TCP engine per core')
    .description(
      'Opens HTTP/1.1 connections, one TCP endpoint engine per core, each\n' +
      'connection\'s local port taken from its core\'s RSS-aligned pool (mTCP\'s\n' +
      'mtcp_init_rss, from the real key and table) so that every reply lands on the\n' +
      'core that opened the connection: no segment is misdelivered. --ports random\n' +
      'picks ports as a kernel would, and shows what that costs: about (N-1)/N of the\n' +
      'replies land on another core and are forwarded to the owner.\n' +
      '\n' +
      'Without a URL it runs against the built-in server over an in-memory wire:\n' +
      'client cores and server cores, software RSS both ways (the server side hashes\n' +
      'with the same key over its own table). A URL runs on a real link: a DPDK\n' +
      'port (--eal), our address (--ip, --ip6), ARP and ND for the next hop (the\n' +
      'server, or --gateway), every reply on the core that opened its connection.\n' +
      '\n' +
      'Each connection sends --requests-per-connection GETs one after another (the\n' +
      'last with `Connection: close`, so the server closes first and holds the\n' +
      'TIME-WAIT; --close rst aborts instead) and reads each response to its end. The\n' +
      'summary reads like wrk\'s.',
    )
    .argument('[url]', 'http://ADDRESS[:PORT]/PATH on the link (without it: the in-memory wire)');
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--cores <n>', `client cores, one thread and engine each (default: half of the ${availableParallelism()}, at least 1)`)
    .option('--server-cores <n>', 'in-memory wire: server cores (default: as many as client cores)')
    .option('--connections <n>', 'connections in all (default 20000; or --duration)')
    .option('--duration <s>', 'open connections for this long instead, then let the open ones finish')
    .option('--concurrency <n>', 'connections open at once, over all client cores', '64')
    .option('--requests-per-connection <n>', 'requests on each connection (keep-alive between them)', '1')
    .addOption(new Option('--ports <mode>', 'local ports: pool (RSS-aligned) or random (as a kernel picks them)').choices(['pool', 'random']).default('pool'))
    .option('--port-range <lo-hi>', 'local ports the pools hold', '1025-65535')
    .addOption(new Option('--close <how>', 'fin: the server closes first after `Connection: close`; rst: abort after the last response').choices(['fin', 'rst']).default('fin'))
    .option('--src-count <n>', 'consecutive local addresses (each multiplies the ports)', '1')
    .option('--response-bytes <n>', 'in-memory wire: body bytes of every response', '1024')
    .option('--timeout <s>', 'a connect or a request taking longer fails', '2')
    .option('--time-wait <s>', 'TIME-WAIT length', '60')
    .option('--ipv6', 'in-memory wire: IPv6 (2001:db8::1 to 2001:db8::2) instead of IPv4')
    .option('--loss <share>', 'in-memory wire: drop this share of frames (seeded)', '0')
    .option('--duplicate <share>', 'in-memory wire: duplicate this share of frames', '0')
    .option('--reorder <share>', 'in-memory wire: delay this share of frames behind later ones', '0')
    .option('--seed <n>', 'seeds ISNs, random ports and the wire\'s faults', '1')
    .option('--no-digest', 'do not keep a CRC-32 of each response body')
    .option('--pcap <file>', 'debug: write every frame on the wire to a pcap file');
  linkOptions(cmd)
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane connect                                     # the in-memory wire\n' +
      '  rssplane connect --cores 2 --ports random --json     # what random ports cost\n' +
      '  rssplane connect --duration 5 --concurrency 256 --requests-per-connection 100\n' +
      '  rssplane connect --loss 0.01 --reorder 0.01 --pcap /tmp/wire.pcap\n' +
      '  rssplane connect http://198.18.0.1/ --ip 198.18.0.2/24 \\\n' +
      '    --eal "--no-huge -m 512 --no-pci --vdev net_af_packet0,iface=veth1"');
  cmd.action(async (url: string | undefined, flags: ConnectFlags) => {
    const explicit = explicitIn(cmd);
    if (url !== undefined) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        invalid('URL', url, 'expected http://HOST[:PORT]/PATH');
      }
      if (u.protocol !== 'http:') invalid('URL', url, 'only http:// URLs (HTTP/1.1 over TCP)');
      if (u.port !== '' && (Number(u.port) < 1 || Number(u.port) > 65535)) invalid('URL', url, 'the port must be from 1 to 65535');
      if (!linkGiven(flags, explicit)) refuseLink(`connect ${url}`);
      const target = linkTarget(u, flags);
      if (flags.connections !== undefined && flags.duration !== undefined) invalid('--duration', flags.duration, 'give --connections or --duration, not both');
      for (const memoryOnly of ['serverCores', 'responseBytes', 'ipv6', 'loss', 'duplicate', 'reorder', 'pcap'] as const) {
        if (explicit(memoryOnly)) invalid(`--${memoryOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(flags[memoryOnly]), 'only for the in-memory wire (the server and the link set these)');
      }
      const cores = bounded(flags.cores, '--cores', Math.max(1, Math.floor(availableParallelism() / 2)), 1, 64);
      const setup = await setUpWire({ ...flags, ipv6: target.family === 6 }, cores, 1, explicit, target.port);
      const durationMs = flags.duration !== undefined ? seconds(flags.duration, '--duration', LIMITS.durationS) * 1000 : undefined;
      await connectOnLink(u, flags, setup, durationMs);
      return;
    }
    const link = linkGiven(flags, explicit);
    if (link) invalid(link, String(flags[link.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof ConnectFlags] ?? ''), 'needs a URL: on a link, connect opens connections to http://ADDRESS[:PORT]/PATH');
    if (flags.connections !== undefined && flags.duration !== undefined) invalid('--duration', flags.duration, 'give --connections or --duration, not both');
    const clientCores = bounded(flags.cores, '--cores', Math.max(1, Math.floor(availableParallelism() / 2)), 1, LIMITS.cores);
    const serverCores = bounded(flags.serverCores, '--server-cores', clientCores, 1, LIMITS.cores);
    const setup = await setUpWire(flags, clientCores, serverCores, explicit);
    const durationMs = flags.duration !== undefined ? seconds(flags.duration, '--duration', LIMITS.durationS) * 1000 : undefined;
    const result = await runWithProgress(setup, durationMs, flags.progress && stderrIsTerminal(), flags.pcap);
    const summary = connectSummary(result, setup);
    if (flags.json) {
      json({
        ...summary, key: presetName(setup.config.key) ?? 'custom', fields: setup.config.fields, hfunc: setup.config.hfunc,
        xfrm: setup.config.xfrm, reta_size: setup.config.reta!.size, client_cores: clientCores, server_cores: serverCores,
        concurrency: setup.concurrency, requests_per_connection: setup.requestsPerConnection, close: setup.close, response_bytes: setup.responseBytes,
      });
      return;
    }
    printConnect(summary, setup, clientCores, serverCores, flags.pcap);
  });
  return cmd;
}

/** The run's settings from connect's (and serve's) flags, each checked at its limits. */
export async function setUpWire(flags: ConnectFlags, clientCores: number, serverCores: number, explicit: (name: string) => boolean, listen = 80): Promise<WireSetup> {
  const family = flags.ipv6 ? 6 : 4;
  const table = flags.reta === undefined && flags.retaFile === undefined
    ? { ...flags, reta: `equal:${clientCores}`, retaSize: flags.retaSize ?? String(DEFAULT_RETA_SIZE) } : flags;
  const config = rssConfig(table, explicit);
  config.requireKeyFor(FIELD_SETS[config.fields].ports ? (family === 6 ? 'ipv6-l4' : 'ipv4-l4') : (family === 6 ? 'ipv6' : 'ipv4'));
  if (flags.ports === 'pool' && !FIELD_SETS[config.fields].ports) {
    invalid('--fields', config.fields, 'port pools need the ports in the hash (ipv4-l4 or ipv6-l4); or use --ports random');
  }
  const srcCount = bounded(flags.srcCount, '--src-count', 1, 1, LIMITS.srcCount);
  const range = portRange(flags.portRange, '--port-range');
  const concurrency = bounded(flags.concurrency, '--concurrency', 64, 1, 1 << 22);
  const s: WireSetup = {
    clientCores, serverCores, family, config, concurrency,
    connections: flags.duration !== undefined ? 0 : bounded(flags.connections, '--connections', 20_000, 1, LIMITS.connections),
    requestsPerConnection: bounded(flags.requestsPerConnection, '--requests-per-connection', 1, 1, LIMITS.requestsPerConnection),
    close: flags.close, ports: flags.ports, portRange: range, srcCount,
    responseBytes: bounded(flags.responseBytes, '--response-bytes', 1024, 0, LIMITS.responseBytes),
    timeoutMs: Math.ceil(seconds(flags.timeout, '--timeout', LIMITS.timeoutS) * 1000),
    timeWaitMs: Math.round(Number(flags.timeWait) * 1000),
    digest: flags.digest, listen, pcap: flags.pcap !== undefined, seed: wholeNumber(flags.seed, '--seed', 1, 0),
  };
  if (!/^[0-9]*\.?[0-9]+$/.test(flags.timeWait.trim()) || Number(flags.timeWait) > LIMITS.timeWaitS) invalid('--time-wait', flags.timeWait, `expected seconds from 0 to ${LIMITS.timeWaitS.toLocaleString('en-US')}`);
  const loss = share(flags.loss, '--loss'), duplicate = share(flags.duplicate, '--duplicate'), reorder = share(flags.reorder, '--reorder');
  if (loss + reorder >= 1) invalid('--reorder', flags.reorder, '--loss and --reorder together must stay below 1');
  if (loss || duplicate || reorder) s.impair = { drop: loss, duplicate, reorder, seed: s.seed };
  if (s.connections && s.connections < s.clientCores) invalid('--connections', flags.connections, `at least one per client core (${clientCores})`);
  if (s.concurrency < s.clientCores) invalid('--concurrency', flags.concurrency, `at least one per client core (${clientCores})`);
  const ports = await portsPerCore(s);
  const perCore = split(s.concurrency, clientCores);
  const tight = perCore.findIndex((c, i) => c > ports[i]!);
  if (tight >= 0) {
    invalid('--concurrency', flags.concurrency, `core ${tight} would hold ${perCore[tight]} connections at once but its pool has ${ports[tight]} ports ` +
      `(ports per core: ${ports.join(', ')}); lower --concurrency, widen --port-range or add --src-count`);
  }
  return s;
}

export async function runWithProgress(s: WireSetup, durationMs: number | undefined, bar: boolean, pcapFile?: string): Promise<ConnectResult> {
  const plan = wirePlan(s);
  const total = s.connections || 0;
  const progress = bar ? new cliProgress.SingleBar({
    stream: process.stderr, hideCursor: true, clearOnComplete: true,
    format: total ? '{bar} {percentage}% | {value}/{total} connections | {requests} requests' : '{connections} connections | {requests} requests (Ctrl-C ends it)',
  }, cliProgress.Presets.shades_classic) : undefined;
  progress?.start(total || 1, 0, { requests: 0, connections: 0 });
  const ending = new AbortController();
  const onInterrupt = () => {
    if (ending.signal.aborted) process.exit(130);
    ending.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await runConnect(plan, {
      durationMs, endInput: ending.signal,
      onProgress: progress ? (p: ConnectProgress) => progress.update(total ? p.connections : 1, { requests: p.requests, connections: p.connections }) : undefined,
    });
    if (pcapFile !== undefined && result.pcap) writeFileSync(pcapFile, result.pcap);
    return result;
  } catch (e) {
    progress?.stop();
    if (e instanceof RunFailure && !e.user) {
      process.stderr.write(`rssplane: ${e.message}\n`);
      if (process.env.RSSPLANE_DEBUG && e.detail) process.stderr.write(`${e.detail}\n`);
      process.exit(1);
    }
    throw e;
  } finally {
    progress?.stop();
    process.off('SIGINT', onInterrupt);
  }
}

const n = (x: number) => x.toLocaleString('en-US');
const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 2 ** 30).toFixed(2)}GB` : `${(bytes / 2 ** 20).toFixed(2)}MB`);
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)}s` : x >= 1 ? `${x.toFixed(2)}ms` : `${(x * 1000).toFixed(0)}us`);

function printConnect(r: ReturnType<typeof connectSummary>, s: WireSetup, clientCores: number, serverCores: number, pcap?: string): void {
  out(`Running ${r.seconds.toFixed(2)}s test @ in-memory wire (IPv${s.family}, ${n(s.responseBytes)}-byte responses)`);
  out(`  ${clientCores} client core${clientCores > 1 ? 's' : ''}, ${serverCores} server core${serverCores > 1 ? 's' : ''}, ${n(s.concurrency)} connections at once`);
  out(`  ${n(s.requestsPerConnection)} request${s.requestsPerConnection > 1 ? 's' : ''} a connection, ${s.ports === 'pool' ? 'ports from RSS-aligned pools' : 'random ports'}, close by ${s.close.toUpperCase()}`);
  out('  Stats          p50        p90        p99      p99.9        max');
  const row = (name: string, h: typeof r.latency_ms) => out(`    ${name.padEnd(10)}${[h.p50, h.p90, h.p99, h.p999, h.max].map((x) => ms(x).padStart(11)).join('')}`);
  row('Latency', r.latency_ms);
  row('Connect', r.connect_ms);
  out(`  ${n(r.requests)} requests on ${n(r.connections)} connections in ${r.seconds.toFixed(2)}s, ${mb(r.bytes_received)} read`);
  const errors = Object.entries(r.errors).filter(([, v]) => v > 0);
  if (errors.length) out(`  Errors: ${errors.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  const non2xx = Object.entries(r.status).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
  if (non2xx) out(`  Non-2xx responses: ${n(non2xx)}`);
  if (r.retransmits || r.server.retransmits) out(`  Retransmitted segments: ${n(r.retransmits)} by the client, ${n(r.server.retransmits)} by the server`);
  if (r.wire.dropped || r.wire.duplicated || r.wire.reordered) out(`  Wire faults: ${n(r.wire.dropped)} dropped, ${n(r.wire.duplicated)} duplicated, ${n(r.wire.reordered)} reordered`);
  out(`Requests/sec:    ${r.requests_per_s.toLocaleString('en-US')}`);
  out(`Connections/sec: ${r.connections_per_s.toLocaleString('en-US')}`);
  out(`Transfer/sec:    ${mb(r.bytes_received / r.seconds)}`);
  out('');
  out('core  connections  misdelivered  ports  available  port stalls');
  for (const c of r.cores) {
    out(`${String(c.core).padStart(4)}  ${n(c.connections).padStart(11)}  ${n(c.misdelivered).padStart(12)}  ${n(c.ports).padStart(5)}  ${n(c.ports_available).padStart(9)}  ${n(c.port_exhausted).padStart(11)}`);
  }
  out('');
  if (s.ports === 'pool') {
    out(`misdelivered ${n(r.misdelivered)}: segments that reached a core other than the one that`);
    out('  opened their connection. Each connection\'s port came from its core\'s pool, so');
    out('  the RSS hash of every reply picks that core.');
  } else {
    out(`misdelivered ${n(r.misdelivered)} (${(r.misdelivered_share * 100).toFixed(1)}% of the segments to the clients): segments that`);
    out('  reached a core other than the one that opened their connection, forwarded to it');
    out(`  through the rings. Random ports land anywhere: about ${(100 * (clientCores - 1) / clientCores).toFixed(0)}% on ${clientCores} cores.`);
  }
  if (Object.keys(r.digests).length) out(`body CRC-32: ${Object.entries(r.digests).map(([k, v]) => `${k} x ${n(v)}`).join(', ')}`);
  if (pcap) out(`wrote ${pcap}`);
}
