/**
 * Our HTTP client against our HTTP server over the in-memory wire (one thread, a virtual clock):
 * every response complete and byte-exact through a lossy wire, nothing left open, every port
 * back in its pool after TIME-WAIT, no port handed out twice; and the pools' promise on 1, 2 and
 * 3 client cores: no segment lands on a core that did not open its connection, where random
 * ports send about (N-1)/N of them astray.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TcpStat } from '../assembly/shared/abi.js';
import { Engine, MemoryWire, serverBody, TcpEndpoint, type EndpointOptions, type Impairment } from '../host/core/index.js';

const EPOCH = 1_700_000_000_000_000_000n;
const CLIENT = '198.18.0.1', SERVER = '198.18.0.2', CLIENT6 = '2001:db8::1', SERVER6 = '2001:db8::2';

interface Setup {
  clientCores?: number;
  serverCores?: number;
  ipv6?: boolean;
  connections: number;
  concurrency: number;
  requests?: number;
  responseBytes: number;
  ports?: 'pool' | 'random';
  portRange?: [number, number];
  close?: 'fin' | 'rst';
  impair?: Impairment;
  capture?: boolean;
  key?: string;
  timeWaitMs?: number;
}

async function setUp(s: Setup) {
  const clientCores = s.clientCores ?? 1, serverCores = s.serverCores ?? 1;
  const common = (core: number, cores: number, seed: bigint): Partial<EndpointOptions> => ({
    core, cores, epochNs: EPOCH, seed, tcbs: 4096, timeWaits: 4096, chunks: 2048, timeWaitMs: s.timeWaitMs ?? 5000,
    tcp: { rtoMinMs: 200 },
  });
  const rss = { key: s.key ?? 'microsoft', fields: 'ipv4-l4' as const };
  const clients = await Promise.all(Array.from({ length: clientCores }, async (_, c) => TcpEndpoint.create(await Engine.create(), {
    ...common(c, clientCores, BigInt(10 + c)), rss: { ...rss, reta: `equal:${clientCores}` },
    ...(s.ipv6 ? { ipv6: CLIENT6 } : { ipv4: CLIENT }), mac: '02:00:00:00:00:01', nextHopMac: '02:00:00:00:00:02',
    ports: s.ports ?? 'pool', portRange: s.portRange,
    app: {
      kind: 'http-client', remote: s.ipv6 ? SERVER6 : SERVER, port: 80, concurrency: s.concurrency, connections: s.connections,
      requestsPerConnection: s.requests ?? 1, close: s.close, timeoutMs: 120_000,
    },
  })));
  const servers = await Promise.all(Array.from({ length: serverCores }, async (_, c) => TcpEndpoint.create(await Engine.create(), {
    ...common(c, serverCores, BigInt(100 + c)), rss: { ...rss, reta: `equal:${serverCores}` },
    ...(s.ipv6 ? { ipv6: SERVER6 } : { ipv4: SERVER }), mac: '02:00:00:00:00:02', nextHopMac: '02:00:00:00:00:01',
    app: { kind: 'http-server', port: 80, responseBytes: s.responseBytes },
  })));
  const wire = new MemoryWire(clients, servers, { impair: s.impair, capture: s.capture });
  return { clients, servers, wire };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const total = (eps: TcpEndpoint[], stat: TcpStat) => sum(eps.map((e) => e.counter(stat)));
const expectedDigest = (n: number) => (crc32(serverBody(n)) >>> 0).toString(16).padStart(8, '0');

/** The HTTP results of all client cores together. */
function results(clients: TcpEndpoint[]) {
  const status: Record<string, number> = {};
  const digests: Record<string, number> = {};
  for (const c of clients) {
    const r = c.results();
    for (const [k, v] of Object.entries(r.status)) status[k] = (status[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.digests)) digests[k] = (digests[k] ?? 0) + v;
  }
  return {
    status, digests, responses: total(clients, TcpStat.APP_RESPONSES), completed: total(clients, TcpStat.APP_COMPLETED),
    bodyBytes: total(clients, TcpStat.APP_BODY_BYTES),
    errors: [TcpStat.APP_CONNECT_TIMEOUT, TcpStat.APP_RESET, TcpStat.APP_TIMEOUT, TcpStat.APP_BAD_RESPONSE].map((x) => total(clients, x)),
  };
}

describe('through a lossy wire', () => {
  it('every response complete and byte-exact, nothing left open, every port back after TIME-WAIT, none handed out twice', async () => {
    const { clients, servers, wire } = await setUp({
      connections: 400, concurrency: 24, requests: 3, responseBytes: 20_000, portRange: [40000, 40063],
      impair: { drop: 0.02, duplicate: 0.01, reorder: 0.02, seed: 5 },
    });
    let checks = 0;
    wire.run({
      until: () => {
        // The pool never hands out a port in use: live connections and TIME-WAIT hold distinct ports.
        const ports = clients[0]!.portsInUse(0);
        if (new Set(ports).size !== ports.length) throw new Error(`a port is held twice: ${ports.join(',')}`);
        checks++;
        return clients.every((c) => c.done) && !wire.inFlight;
      },
    });
    expect(checks).toBeGreaterThan(100);
    const r = results(clients);
    expect(r).toEqual({
      status: { 200: 1200 }, digests: { [expectedDigest(20_000)]: 1200 }, responses: 1200, completed: 400,
      bodyBytes: 1200 * 20_000, errors: [0, 0, 0, 0],
    });
    const faults = wire.faults();
    expect(faults.dropped).toBeGreaterThan(100);
    expect(faults.reordered).toBeGreaterThan(100);
    expect(faults.duplicated).toBeGreaterThan(50);
    expect(total(clients, TcpStat.RETRANSMITS) + total(servers, TcpStat.RETRANSMITS)).toBeGreaterThan(50);
    expect(total(clients, TcpStat.PORT_EXHAUSTED)).toBe(0);
    // What arrived out of order was reported with SACK blocks, and the peer saw them.
    expect(total([...clients, ...servers], TcpStat.SACKS_SENT)).toBeGreaterThan(10);
    expect(total([...clients, ...servers], TcpStat.SACKS_RECEIVED)).toBeGreaterThan(10);
    // Let every TIME-WAIT run out.
    wire.run({ until: () => total([...clients, ...servers], TcpStat.TIME_WAITS_ACTIVE) === 0 && !wire.inFlight });
    for (const e of [...clients, ...servers]) {
      expect(e.counter(TcpStat.TCBS_ACTIVE)).toBe(0);
      expect(e.counter(TcpStat.TIME_WAITS_ACTIVE)).toBe(0);
      expect(e.counter(TcpStat.RECEIVED)).toBe(e.counter(TcpStat.PROCESSED) + e.counter(TcpStat.FORWARDED) + e.counter(TcpStat.DROPPED));
    }
    const pool = clients[0]!.ports()[0]!;
    expect(pool.available).toBe(pool.size);
    expect(pool.size).toBe(64);
  });

  it('IPv6, keep-alive: 10 requests a connection', async () => {
    const { clients, wire } = await setUp({ ipv6: true, connections: 50, concurrency: 8, requests: 10, responseBytes: 3000, impair: { drop: 0.01, seed: 2 } });
    wire.run();
    expect(results(clients)).toMatchObject({ status: { 200: 500 }, digests: { [expectedDigest(3000)]: 500 }, completed: 50, errors: [0, 0, 0, 0] });
  });

  it('--close rst: the client aborts after its last response; no TIME-WAIT on either side', async () => {
    const { clients, servers, wire } = await setUp({ connections: 100, concurrency: 10, requests: 2, responseBytes: 100, close: 'rst' });
    wire.run();
    expect(results(clients)).toMatchObject({ status: { 200: 200 }, completed: 100, errors: [0, 0, 0, 0] });
    expect(total(servers, TcpStat.TIME_WAIT_ENTERED) + total(clients, TcpStat.TIME_WAIT_ENTERED)).toBe(0);
    expect(total(servers, TcpStat.RESETS)).toBe(100);
    expect(total(servers, TcpStat.TCBS_ACTIVE)).toBe(0);
    // A lossless wire: every answer goes at once (none waits for a timer, such as the delayed ACK).
    expect(clients[0]!.results().latency.max).toBeLessThan(1_000_000);
  });

  it('more connections at once than ports: the client waits for ports (counted stalls), never reuses one in use', async () => {
    const { clients, wire } = await setUp({ connections: 200, concurrency: 24, requests: 1, responseBytes: 10, portRange: [50000, 50015] });
    wire.run({
      until: () => {
        const ports = clients[0]!.portsInUse(0);
        if (new Set(ports).size !== ports.length) throw new Error(`a port is held twice: ${ports.join(',')}`);
        return clients.every((c) => c.done) && !wire.inFlight;
      },
    });
    expect(results(clients)).toMatchObject({ status: { 200: 200 }, completed: 200, errors: [0, 0, 0, 0] });
    expect(clients[0]!.counter(TcpStat.PORT_EXHAUSTED)).toBeGreaterThan(0);
  });
});

describe('1, 2 and 3 client cores (the pools\' promise)', () => {
  for (const cores of [1, 2, 3]) {
    it(`${cores} core(s): pools send no segment astray; random ports about (N-1)/N; the same HTTP results`, async () => {
      const run = async (ports: 'pool' | 'random') => {
        const { clients, wire } = await setUp({ clientCores: cores, serverCores: 2, connections: 120, concurrency: 10, requests: 2, responseBytes: 5000, ports });
        wire.run();
        const inbound = total(clients, TcpStat.RECEIVED) - total(clients, TcpStat.MISDELIVERED); // forwarded ones arrive twice
        return { results: results(clients), misdelivered: total(clients, TcpStat.MISDELIVERED), inbound, perCore: clients.map((c) => c.counter(TcpStat.APP_COMPLETED)) };
      };
      const pool = await run('pool');
      const random = await run('random');
      expect(pool.results).toEqual({
        status: { 200: 240 * cores }, digests: { [expectedDigest(5000)]: 240 * cores }, responses: 240 * cores, completed: 120 * cores,
        bodyBytes: 240 * cores * 5000, errors: [0, 0, 0, 0],
      });
      expect(random.results).toEqual(pool.results);
      expect(pool.misdelivered).toBe(0);
      const share = random.misdelivered / random.inbound;
      expect(share).toBeGreaterThan((cores - 1) / cores - 0.08);
      expect(share).toBeLessThan((cores - 1) / cores + 0.08);
    });
  }
});
