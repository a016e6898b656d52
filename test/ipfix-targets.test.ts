/**
 * IPFIX targets on their own (host/node/export/ipfix-targets.ts), on loopback: a TCP collector
 * that goes away and comes back gets a new session (templates first, sequence numbers from 0);
 * UDP templates are sent again every refresh interval; a UDP queue that is full drops messages
 * and counts their records; sequence numbers count the records sent before each message.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IPFIX_RECORD_V4, IPFIX_TEMPLATE_V4 } from '../assembly/shared/abi.js';
import { readIpfix } from '../host/core/ipfix.js';
import { CoreExport, IpfixExport, parseTarget } from '../host/node/export/ipfix-targets.js';

/** A data message as the engine leaves it: `n` IPv4 records (source port = i), the count where the sequence number goes. */
function message(n: number, firstPort = 1): Uint8Array {
  const length = 16 + 4 + n * IPFIX_RECORD_V4;
  const m = new Uint8Array(length);
  const dv = new DataView(m.buffer);
  dv.setUint16(0, 10);
  dv.setUint16(2, length);
  dv.setUint32(8, n);
  dv.setUint32(12, 5);
  dv.setUint16(16, IPFIX_TEMPLATE_V4);
  dv.setUint16(18, length - 16);
  for (let i = 0; i < n; i++) dv.setUint16(20 + i * IPFIX_RECORD_V4 + 8, firstPort + i);
  return m;
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(what: () => boolean): Promise<void> {
  while (!what()) await new Promise((r) => setTimeout(r, 5));
}

let cleanup: Array<() => void> = [];
afterEach(() => {
  vi.useRealTimers();
  for (const c of cleanup.splice(0)) c();
});

describe('IPFIX targets', () => {
  it('TCP: a collector that drops the connection gets a new session when the target reconnects', async () => {
    const sessions: Array<{ socket: Socket; data: Buffer[] }> = [];
    const server = createServer((socket) => {
      const s = { socket, data: [] as Buffer[] };
      sessions.push(s);
      socket.on('data', (d) => s.data.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const exp = await IpfixExport.open([parseTarget(`tcp://127.0.0.1:${port}`)], { domain: 5, templateRefresh: 60 });
    const records = (i: number) => readIpfix(Buffer.concat(sessions[i]!.data)).flatMap((m) => m.records).length;
    exp.write(message(2));
    exp.write(message(3, 10));
    await until(() => sessions.length === 1 && records(0) === 5);
    // The collector goes away; the target reconnects on its own, and what comes next goes there.
    sessions[0]!.socket.destroy();
    await until(() => sessions.length === 2);
    await until(() => Buffer.concat(sessions[1]!.data).length > 0); // the templates
    exp.write(message(4, 20));
    await until(() => records(1) === 4);
    const second = readIpfix(Buffer.concat(sessions[1]!.data));
    expect(second[0]!.templates).toEqual([256, 257]);
    expect(second[1]!.sequence).toBe(0);
    expect(second[1]!.records.map((r) => r.sourceTransportPort)).toEqual([20, 21, 22, 23]);
    const first = readIpfix(Buffer.concat(sessions[0]!.data));
    expect(first.map((m) => m.sequence)).toEqual([0, 0, 2]);
    await exp.close();
    expect(exp.stats().targets[0]).toMatchObject({ records_sent: 9, records_dropped: 0, connections: 2, template_messages: 2 });
  });

  it('UDP: templates again every refresh interval; a full queue drops whole messages, counted', async () => {
    const socket = createSocket('udp4');
    const got: Buffer[] = [];
    socket.on('message', (m) => got.push(m));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    cleanup.push(() => socket.close());
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const exp = await IpfixExport.open([parseTarget(`udp://127.0.0.1:${socket.address().port}`)], { domain: 5, templateRefresh: 60, queueBytes: 1000 });
    // The bound is on what the socket has not taken. On loopback the kernel takes every datagram
    // as it is sent, so here only a message larger than the bound (18 records: 1352 bytes) finds
    // the queue full: it is dropped whole, its records counted.
    await until(() => got.length === 1);
    exp.write(Buffer.concat([message(18), message(18), message(18)]));
    expect(exp.stats()).toMatchObject({ records_sent: 0, records_dropped: 54 });
    exp.write(message(1, 100));
    await until(() => got.length === 2);
    vi.advanceTimersByTime(60_000);
    await until(() => got.length === 3);
    exp.write(message(2, 200));
    await until(() => got.length === 4);
    await exp.close();
    const messages = got.map((d) => readIpfix(d, templatesOf(got[0]!))[0]!);
    expect(messages.map((m) => (m.templates.length ? 'templates' : m.records.length))).toEqual(['templates', 1, 'templates', 2]);
    // Sequence numbers count the records sent (the dropped ones were never sent).
    expect(messages.map((m) => m.sequence)).toEqual([0, 0, 1, 1]);
    expect(messages[3]!.records.map((r) => r.sourceTransportPort)).toEqual([200, 201]);
    expect(exp.stats()).toMatchObject({ records_encoded: 57, records_sent: 3, records_dropped: 54 });
    expect(exp.stats().targets[0]).toMatchObject({ messages_sent: 2, template_messages: 2, bytes_sent: 2 * got[0]!.length + (20 + 74) + (20 + 2 * 74) });
    await tick();
  });

  it('UDP: templates again every refresh, and not twice when a write has just sent them', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    cleanup.push(() => socket.close());
    // The clock and the refresh timer under the test's hand (sockets run as they do).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      const exp = await IpfixExport.open([parseTarget(`udp://127.0.0.1:${socket.address().port}`)], { domain: 5, templateRefresh: 1 });
      const templates = () => exp.stats().targets[0]!.template_messages;
      const start = Date.now();
      expect(templates()).toBe(1);
      vi.advanceTimersByTime(999);
      exp.write(message(1)); // not due yet
      expect(templates()).toBe(1);
      // 1 s in, a write comes just before the timer's turn: it finds the templates due and sends them
      vi.setSystemTime(start + 1000);
      exp.write(message(2));
      expect(templates()).toBe(2);
      // the timer's turn a moment later sends nothing more
      vi.advanceTimersByTime(1);
      expect(templates()).toBe(2);
      // its next turn, a refresh after the write's, does
      vi.advanceTimersByTime(1000);
      expect(templates()).toBe(3);
      await exp.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('UDP: a collector that is not there: the kernel refuses sends (ICMP port unreachable), their records counted as dropped', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const port = socket.address().port;
    await new Promise<void>((r) => socket.close(() => r()));
    const exp = await IpfixExport.open([parseTarget(`udp://127.0.0.1:${port}`)], { domain: 5, templateRefresh: 60 });
    // A connected socket hears the port unreachable of a datagram as the error of a later send.
    exp.write(Buffer.concat([message(1), message(2), message(3), message(4)]));
    await exp.close();
    const s = exp.stats();
    expect(s.records_encoded).toBe(10);
    expect(s.records_sent + s.records_dropped).toBe(10);
    expect(s.records_dropped).toBeGreaterThan(0);
  });

  it('UDP: the main thread and core senders are one transport session: one source port, one sequence, counts added up', async () => {
    const socket = createSocket('udp4');
    const got: Array<{ data: Buffer; port: number }> = [];
    socket.on('message', (data, from) => got.push({ data, port: from.port }));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    cleanup.push(() => socket.close());
    const exp = await IpfixExport.open([parseTarget(`udp://127.0.0.1:${socket.address().port}`)], { domain: 5, templateRefresh: 60 });
    const share = exp.coreShare()!;
    // Only a UDP target: the cores hand the main thread nothing.
    expect(share.post).toBe(false);
    // Two cores' senders (each its own socket, as in a core thread), and the main thread's.
    const cores = [await CoreExport.open(share), await CoreExport.open(share)];
    expect(cores[0]!.write([Buffer.concat([message(3), message(2, 10)])])).toBe(false);
    cores[1]!.write([message(4, 20)]);
    exp.write(message(1, 30));
    cores[0]!.write([message(5, 40)]);
    await Promise.all(cores.map((c) => c.close()));
    await until(() => got.length === 6);
    await exp.close();
    // One exporter: every datagram from the port the main thread's socket was given.
    expect(new Set(got.map((g) => g.port))).toEqual(new Set([share.udp[0]!.localPort]));
    const messages = got.map((g) => readIpfix(g.data, templatesOf(got[0]!.data))[0]!);
    expect(messages[0]!.templates).toEqual([256, 257]);
    // Each message's number counts the records of every sender's messages before it.
    expect(messages.slice(1).map((m) => [m.sequence, m.records.length])).toEqual([[0, 3], [3, 2], [5, 4], [9, 1], [10, 5]]);
    expect(exp.stats()).toMatchObject({ records_encoded: 15, records_sent: 15, records_dropped: 0 });
    expect(exp.stats().targets[0]).toMatchObject({ messages_sent: 5, template_messages: 1 });
  });
});

function templatesOf(first: Buffer) {
  const t = new Map();
  readIpfix(first, t);
  return t;
}
