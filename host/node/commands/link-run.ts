/**
 * connect and serve on a real link (issue 12): the link layer's threads (host/node/link), one per
 * core, each with its TCP endpoint in the same engine (worker.ts, upperLayer). This controller
 * opens the port, resolves the server's next hop before the first SYN (ARP or ND, with retries;
 * no answer ends the run with one line), starts the endpoints, waits for the clients (or the
 * duration), and prints the summary connect and serve print over the in-memory wire, with the
 * link's counters beside it. It never touches a frame.
 */
import { formatAddress, parseAddress } from '../../core/addr.js';
import { invalid } from '../../core/errors.js';
import { Histogram } from '../../core/histogram.js';
import { presetName } from '../../core/key.js';
import { resolveMessage } from '../../core/link.js';
import { json, out } from '../io.js';
import { parseLinkFlags, type LinkFlags } from '../link/options.js';
import type { LinkEndpointPlan } from '../link/plan.js';
import { LinkFailure, LinkSession, openLink, type LinkReport, type OpenedLink } from '../link/session.js';
import type { EndpointResult } from '../runner/connect-plan.js';
import type { ConnectResult } from '../runner/connect.js';
import { connectSummary, wirePlan, type WireSetup } from './connect.js';

/** Our local addresses as the endpoint takes them (text, no prefix). */
function localAddresses(opened: OpenedLink): { ipv4?: string; ipv6?: string } {
  const a = opened.plan.addresses;
  return {
    ...(a.ipv4 ? { ipv4: formatAddress(a.ipv4.address) } : {}),
    ...(a.ipv6 ? { ipv6: formatAddress(a.ipv6.address) } : {}),
  };
}

/** The server of a connect URL: an address literal (the link has no DNS), its port and path. */
export function linkTarget(url: URL, flags: LinkFlags): { address: string; family: 4 | 6; port: number; path: string; host: string } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let parsed;
  try {
    parsed = parseAddress(host);
  } catch {
    invalid('URL', url.href, 'on a link the host must be an IPv4 or IPv6 address (there is no DNS here)');
  }
  const settings = parseLinkFlags(flags);
  if (parsed.family === 4 && !settings.addresses.ipv4) invalid('URL', url.href, 'an IPv4 server needs our IPv4 address on the link: give --ip ADDR/LEN');
  if (parsed.family === 6 && !settings.addresses.ipv6) invalid('URL', url.href, 'an IPv6 server needs our IPv6 address on the link: give --ip6 ADDR/LEN');
  return { address: formatAddress(parsed.bytes), family: parsed.family, port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname}${url.search}`, host: url.host };
}

/** Waits for `ms` */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Ends the run on a failure of a core: one line, exit 1 (a user's mistake: exit 2). */
function failed(e: unknown): never {
  if (e instanceof LinkFailure) {
    process.stderr.write(`rssplane: ${e.message}\n`);
    if (process.env.RSSPLANE_DEBUG && e.detail) process.stderr.write(`${e.detail}\n`);
    process.exit(e.user ? 2 : 1);
  }
  throw e;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The link's part of a summary. */
function linkSummary(opened: OpenedLink, report: LinkReport) {
  const { port, plan } = opened;
  return {
    kind: 'link', driver: port.info.driver, port: port.port, mac: opened.mac, rss: port.rss, rx_queues: port.rxQueues,
    tx_queues: port.txQueues, tx: plan.tx, ...localAddresses(opened),
    link: report.total, neighbours: report.cores[0]?.neighbours ?? [], dpdk: report.dpdk,
    tx_sent: report.cores.reduce((a, c) => a + c.txSent, 0), tx_dropped: report.cores.reduce((a, c) => a + c.txDropped, 0),
    forwarded: report.cores.reduce((a, c) => a + c.forwarded, 0),
    // Each link thread's loop: the share of its time spent on work (the rest polled empty
    // queues), and the frames it took a round: what tells whether our side bounds a benchmark.
    threads: report.cores.map((c) => ({
      core: c.core, seconds: round3(c.loop.ms / 1000), busy_seconds: round3(c.loop.busyMs / 1000),
      busy_share: c.loop.ms > 0 ? round3(c.loop.busyMs / c.loop.ms) : 0, busy_rounds: c.loop.busyRounds,
      frames_per_round: c.loop.busyRounds > 0 ? round3(c.polled / c.loop.busyRounds) : 0,
    })),
  };
}

/**
 * connect URL on the link: `setup` is the run's settings (checked as over the in-memory wire),
 * `cores` client cores.
 */
export async function connectOnLink(url: URL, flags: LinkFlags & { json?: boolean }, setup: WireSetup, durationMs: number | undefined): Promise<void> {
  const target = linkTarget(url, flags);
  if (setup.srcCount !== 1) invalid('--src-count', String(setup.srcCount), 'on a link we have one address per family (--ip, --ip6): 1');
  const memory = wirePlan(setup);
  const c = memory.client;
  const endpoint: LinkEndpointPlan = {
    options: {
      tcbs: memory.endpoint.clientTcbs, timeWaits: memory.endpoint.clientTimeWaits, timeWaitMs: memory.endpoint.timeWaitMs,
      chunks: memory.endpoint.chunks, chunkBytes: memory.endpoint.chunkBytes, ports: c.ports, portRange: c.portRange,
    },
    apps: c.concurrency.map((concurrency, core) => ({
      kind: 'http-client' as const, remote: target.address, port: target.port, path: target.path, host: target.host, concurrency,
      connections: c.connections[core]!, requestsPerConnection: c.requestsPerConnection, close: c.close, timeoutMs: c.timeoutMs, digest: c.digest,
    })),
    epochNs: memory.epochNs, clockBase: memory.clockBase, seed: memory.seed,
  };
  const opened = openLink(flags, { cores: setup.clientCores, config: setup.config, endpoint });
  for (const w of opened.port.warnings) process.stderr.write(`rssplane: warning: ${w}\n`);
  Object.assign(endpoint.options, localAddresses(opened));
  const session = await LinkSession.start(opened).catch(failed);
  const ours = target.family === 4 ? opened.settings.ipText : opened.settings.ip6Text;

  // The next hop first: no SYN goes out to a peer nobody answers for.
  let resolved;
  try {
    resolved = await session.resolve(target.address);
    // Then on every other core (its cache has it from core 0's copy, or it asks itself), so
    // that no core's first SYN waits for a resolution.
    if (resolved.status === 'resolved') {
      const others = await Promise.all(Array.from({ length: setup.clientCores - 1 }, (_, c) => session.resolve(target.address, c + 1)));
      resolved = others.find((r) => r.status !== 'resolved') ?? resolved;
    }
  } catch (e) {
    await session.stop().catch(() => undefined);
    failed(e);
  }
  if (resolved.status !== 'resolved') {
    const report = await session.stop().catch(failed);
    process.stderr.write(`rssplane: ${resolveMessage(target.address, resolved, ours)}\n`);
    const summary = { connections: 0, requests: 0, error: resolved.status, wire: linkSummary(opened, report) };
    if (flags.json) json(summary);
    else out(`No connection opened: ${target.address} was not resolved (${resolved.status}); the link received ${report.total.received} frames, sent ${summary.wire.tx_sent}.`);
    process.exit(1);
  }

  process.stderr.write(`rssplane: connecting to ${url.href} from ${ours} (DPDK port ${opened.port.port}, ${opened.port.info.driver}, ${opened.mac}; next hop ${resolved.nextHop} at ${resolved.mac})\n`);
  session.go();
  const ending = () => session.stopOpening();
  const timer = durationMs !== undefined ? setTimeout(ending, durationMs) : undefined;
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    ending();
  };
  process.on('SIGINT', onInterrupt);
  let ended = false;
  void session.ended.then(() => (ended = true));
  while (!session.clientsDone && !ended) await sleep(5);
  if (timer) clearTimeout(timer);
  process.off('SIGINT', onInterrupt);
  const report = await session.stop().catch(failed);

  if (process.env.RSSPLANE_DEBUG) for (const c of report.cores) process.stderr.write(`core ${c.core}: ${JSON.stringify(Object.fromEntries(Object.entries(c.endpoint?.stats ?? {}).filter(([, v]) => v)))}\n`);
  const clients: EndpointResult[] = report.cores.map((core) => {
    const e = core.endpoint!;
    return {
      side: 'client', core: core.core, stats: e.stats, status: e.status, latency: e.latency, latencyMax: e.latencyMax,
      connectTime: e.connectTime, connectMax: e.connectMax, digests: e.digests, ports: e.ports,
      startedAt: e.startedAt ?? 0, doneAt: e.doneAt, faults: { dropped: 0, duplicated: 0, reordered: 0 },
    };
  });
  const started = Math.min(...clients.map((r) => r.startedAt));
  const finished = Math.max(...clients.map((r) => r.doneAt ?? performance.timeOrigin + performance.now()));
  const latency = new Histogram(), connectTime = new Histogram();
  for (const r of clients) {
    latency.add(new Histogram(r.latency, r.latencyMax));
    connectTime.add(new Histogram(r.connectTime, r.connectMax));
  }
  const result: ConnectResult = { clients, servers: [], seconds: Math.max(finished - started, 1) / 1000, latency, connectTime };
  const { server: _server, wire: _wire, segments, ...summary } = connectSummary(result, { ...setup, family: target.family });
  void _server;
  void _wire;
  const open = clients.reduce((a, r) => a + (r.stats.tcbs_active ?? 0), 0);
  const full = {
    ...summary, url: url.href, server: `${target.family === 6 ? `[${target.address}]` : target.address}:${target.port}`,
    open_at_end: open, time_waits: clients.reduce((a, r) => a + (r.stats.time_waits_active ?? 0), 0),
    segments: { received: segments.client_received, dropped: segments.dropped, sent: clients.reduce((a, r) => a + (r.stats.segments_sent ?? 0), 0) },
    wire: { ...linkSummary(opened, report), family: target.family, next_hop: resolved.nextHop, next_hop_mac: resolved.mac },
  };
  if (flags.json) {
    json({
      ...full, key: presetName(setup.config.key) ?? 'custom', fields: setup.config.fields, hfunc: setup.config.hfunc, xfrm: setup.config.xfrm,
      reta_size: setup.config.reta!.size, client_cores: setup.clientCores, concurrency: setup.concurrency,
      requests_per_connection: setup.requestsPerConnection, close: setup.close,
    });
    return;
  }
  printLinkConnect(full, setup);
}

const n = (x: number) => x.toLocaleString('en-US');

function printLinkConnect(r: Omit<ReturnType<typeof connectSummary>, 'server' | 'wire' | 'segments'> & {
  url: string; wire: ReturnType<typeof linkSummary> & { next_hop: string; next_hop_mac: string }; open_at_end: number;
}, s: WireSetup): void {
  const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)}s` : x >= 1 ? `${x.toFixed(2)}ms` : `${(x * 1000).toFixed(0)}us`);
  out(`Running ${r.seconds.toFixed(2)}s test @ ${r.url}`);
  out(`  link: port ${r.wire.port} (${r.wire.driver}), ${r.wire.mac}, next hop ${r.wire.next_hop} at ${r.wire.next_hop_mac}`);
  out(`  ${s.clientCores} core${s.clientCores > 1 ? 's' : ''}, ${n(s.concurrency)} connections at once, ${n(s.requestsPerConnection)} request${s.requestsPerConnection > 1 ? 's' : ''} a connection, ${s.ports === 'pool' ? 'ports from RSS-aligned pools' : 'random ports'}`);
  out('  Stats          p50        p90        p99      p99.9        max');
  const row = (name: string, h: typeof r.latency_ms) => out(`    ${name.padEnd(10)}${[h.p50, h.p90, h.p99, h.p999, h.max].map((x) => ms(x).padStart(11)).join('')}`);
  row('Latency', r.latency_ms);
  row('Connect', r.connect_ms);
  out(`  ${n(r.requests)} requests on ${n(r.connections)} connections in ${r.seconds.toFixed(2)}s, ${(r.bytes_received / 2 ** 20).toFixed(2)}MB read`);
  const errors = Object.entries(r.errors).filter(([, v]) => v > 0);
  if (errors.length) out(`  Errors: ${errors.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  if (r.retransmits) out(`  Retransmitted segments: ${n(r.retransmits)}`);
  out(`Requests/sec:    ${n(r.requests_per_s)}`);
  out(`Connections/sec: ${n(r.connections_per_s)}`);
  out('');
  out('core  connections  misdelivered  ports  available');
  for (const c of r.cores) out(`${String(c.core).padStart(4)}  ${n(c.connections).padStart(11)}  ${n(c.misdelivered).padStart(12)}  ${n(c.ports).padStart(5)}  ${n(c.ports_available).padStart(9)}`);
  out(`misdelivered ${n(r.misdelivered)} (${(r.misdelivered_share * 100).toFixed(1)}% of the segments in): replies that reached a core other than`);
  out('  the one that opened their connection, forwarded to it.');
  if (Object.keys(r.digests).length) out(`body CRC-32: ${Object.entries(r.digests).map(([k, v]) => `${k} x ${n(v)}`).join(', ')}`);
}

export interface ServeOnLink {
  cores: number;
  listen: number;
  responseBytes: number;
  /** until Ctrl-C (or --dpdk-idle) without it */
  durationMs?: number;
  timeWaitMs: number;
  setup: WireSetup;
}

/** serve on the link: answers until --duration, Ctrl-C, or --dpdk-idle. */
export async function serveOnLink(flags: LinkFlags & { json?: boolean }, o: ServeOnLink): Promise<void> {
  const settings = parseLinkFlags(flags);
  if (!settings.addresses.ipv4 && !settings.addresses.ipv6) invalid('--ip', '', 'serve on a link needs our address: --ip ADDR/LEN or --ip6 ADDR/LEN');
  const clockBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  const endpoint: LinkEndpointPlan = {
    options: { tcbs: 16384, timeWaits: 65536, timeWaitMs: o.timeWaitMs, chunks: 16384, chunkBytes: 4096 },
    apps: Array.from({ length: o.cores }, () => ({ kind: 'http-server' as const, port: o.listen, responseBytes: o.responseBytes, idleMs: 75_000 })),
    epochNs: BigInt(Date.now()) * 1_000_000n, clockBase, seed: 1,
  };
  const opened = openLink(flags, { cores: o.cores, config: o.setup.config, endpoint });
  for (const w of opened.port.warnings) process.stderr.write(`rssplane: warning: ${w}\n`);
  Object.assign(endpoint.options, localAddresses(opened));
  const session = await LinkSession.start(opened).catch(failed);
  const at = [opened.settings.ipText, opened.settings.ip6Text].filter(Boolean).join(' and ');
  // The line a script waits for: the port is up and answering.
  process.stderr.write(`rssplane: serving on ${at} port ${o.listen} (DPDK port ${opened.port.port}, ${opened.port.info.driver}, ${opened.mac}, ${o.cores} core${o.cores > 1 ? 's' : ''})\n`);
  const startedAt = performance.now();
  let stopRequested: () => void = () => {};
  const requested = new Promise<void>((r) => (stopRequested = r));
  process.on('SIGINT', stopRequested);
  process.on('SIGTERM', stopRequested);
  // (setTimeout holds at most 2^31 - 1 ms: a longer duration is checked in steps)
  const until = o.durationMs === undefined ? undefined : Date.now() + o.durationMs;
  const timer = until === undefined ? undefined : setInterval(() => { if (Date.now() >= until) stopRequested(); }, Math.min(o.durationMs!, 1000));
  await Promise.race([requested, session.ended]);
  if (timer) clearInterval(timer);
  const report = await session.stop().catch(failed);
  const seconds = Math.max(performance.now() - startedAt, 1) / 1000;
  const sum = (name: string) => report.cores.reduce((a, c) => a + (c.endpoint?.stats[name] ?? 0), 0);
  const summary = {
    connections: sum('app_served_connections'), requests: sum('app_served_requests'), bytes_sent: sum('app_served_bytes'),
    errors: { bad_request: sum('app_bad_request'), reset: sum('resets'), idle_closed: sum('app_idle_closed'), no_tcb: sum('drop_no_tcb') },
    requests_per_s: Math.round(sum('app_served_requests') / seconds), connections_per_s: Math.round(sum('app_served_connections') / seconds),
    seconds: Math.round(seconds * 1e6) / 1e6,
    cores: report.cores.map((c) => ({ core: c.core, connections: c.endpoint?.stats.app_served_connections ?? 0, requests: c.endpoint?.stats.app_served_requests ?? 0, misdelivered: c.endpoint?.stats.misdelivered ?? 0 })),
    listen: o.listen, response_bytes: o.responseBytes, time_waits: sum('time_waits_active'), time_wait_recycled: sum('time_wait_recycled'),
    retransmits: sum('retransmits'), misdelivered: sum('misdelivered'), open_at_end: sum('tcbs_active'),
    segments: { received: sum('received'), dropped: sum('dropped'), sent: sum('segments_sent'), rst_sent: sum('rst_sent') },
    wire: linkSummary(opened, report),
  };
  if (flags.json) return json(summary);
  out(`Served ${summary.seconds.toFixed(2)}s on ${at} port ${o.listen}, ${o.cores} core${o.cores > 1 ? 's' : ''} (DPDK port ${opened.port.port}, ${opened.port.info.driver})`);
  out(`  ${n(summary.requests)} requests on ${n(summary.connections)} connections, ${n(summary.bytes_sent)} bytes sent`);
  out(`Requests/sec:    ${n(summary.requests_per_s)}`);
  out(`Connections/sec: ${n(summary.connections_per_s)}`);
  const errors = Object.entries(summary.errors).filter(([, v]) => v > 0);
  out(`Errors: ${errors.length ? errors.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
  out(`Link: ${n(summary.wire.link.received)} frames received (${n(summary.wire.link.dropped)} dropped), ${n(summary.wire.tx_sent)} sent; ARP replies ${n(summary.wire.link.arp_replies_sent)}, echo replies ${n(summary.wire.link.echo_replies + summary.wire.link.echo6_replies)}`);
}

