/**
 * The HTTP/1.1 client and server as RFC 9112 peers, from literal segments: responses and
 * requests cut at every byte (the line-at-a-time fast path and the byte-at-a-time path agree),
 * Content-Length, chunked bodies with extensions and trailers, interim 1xx responses, bodies
 * until close, keep-alive and `Connection: close`, HEAD, HTTP/1.0, pipelining.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TcpStat } from '../assembly/shared/abi.js';
import { serverBody } from '../host/core/index.js';
import { ACK, FIN, Harness, PSH, SYN, type Sent } from './helpers/tcp.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** An HTTP client endpoint with one connection established to the peer the test plays. */
async function client(requests = 1) {
  const h = await Harness.create({
    tcp: { quickAck: true },
    app: { kind: 'http-client', remote: '198.18.0.2', port: 80, concurrency: 1, connections: 1, requestsPerConnection: requests, timeoutMs: 60_000 },
  });
  const syn = h.recvOne();
  h.localPort = syn.srcPort;
  h.peerPort = 80;
  h.tcb = 0;
  h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460 });
  const request = h.recvOne();
  return { h, iss: syn.seq, request: dec(request.payload), next: { seq: 1001, ack: request.seq + request.payload.length } };
}

/** Feeds `bytes` to the client `piece` bytes a segment (in order). */
function feed(h: Harness, at: { seq: number; ack: number }, bytes: Uint8Array, piece: number, fin = false): void {
  for (let i = 0; i < bytes.length; i += piece) {
    const part = bytes.subarray(i, i + piece);
    const last = i + piece >= bytes.length;
    h.send({ flags: ACK | PSH | (fin && last ? FIN : 0), seq: at.seq, ack: at.ack, payload: part });
    at.seq += part.length;
  }
  h.recv();
}

const results = (h: Harness) => ({ ...h.endpoint.results(), responses: h.endpoint.counter(TcpStat.APP_RESPONSES), bytes: h.endpoint.counter(TcpStat.APP_BODY_BYTES), bad: h.endpoint.counter(TcpStat.APP_BAD_RESPONSE) });
const crc = (b: Uint8Array | string) => (crc32(typeof b === 'string' ? enc(b) : b) >>> 0).toString(16).padStart(8, '0');

describe('the client reads responses', () => {
  it('sends GET with Host, and `Connection: close` on its last request', async () => {
    const { request } = await client(1);
    expect(request).toBe('GET / HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: rssplane\r\nAccept: */*\r\nConnection: close\r\n\r\n');
  });

  for (const piece of [1, 3, 7, 1000]) {
    it(`Content-Length, cut into ${piece}-byte segments`, async () => {
      const { h, next } = await client(2);
      const body = 'x'.repeat(50) + 'y'.repeat(50);
      const response = `HTTP/1.1 200 OK\r\nServer: test\r\ncontent-LENGTH: ${body.length}\r\nX-Other: a:b\r\n\r\n${body}`;
      feed(h, next, enc(response), piece);
      const r = results(h);
      expect(r).toMatchObject({ status: { 200: 1 }, responses: 1, bytes: 100, bad: 0, digests: { [crc(body)]: 1 } });
      expect(h.state()).toBe('ESTABLISHED'); // a second request went out on the same connection
    });

    it(`chunked with an extension and a trailer, cut into ${piece}-byte segments`, async () => {
      const { h, next } = await client(1);
      const response = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;name=v\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: 1\r\n\r\n';
      feed(h, next, enc(response), piece);
      expect(results(h)).toMatchObject({ status: { 404: 1 }, responses: 1, bytes: 15, bad: 0, digests: { [crc('hello, world!!!')]: 1 } });
    });
  }

  it('skips a 100 Continue; a body without length ends at the server\'s FIN', async () => {
    const { h, next } = await client(1);
    feed(h, next, enc('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end'), 5, true);
    expect(results(h)).toMatchObject({ status: { 200: 1 }, responses: 1, bytes: 13, bad: 0 });
    expect(h.endpoint.counter(TcpStat.APP_COMPLETED)).toBe(1);
  });

  it('a response that is not HTTP is counted and the connection aborted', async () => {
    const { h, next } = await client(1);
    h.send({ flags: ACK | PSH, seq: next.seq, ack: next.ack, payload: 'SSH-2.0-OpenSSH\r\n' });
    const rst = h.recv().find((s) => s.flags & 4);
    expect(rst).toBeDefined();
    expect(results(h).bad).toBe(1);
  });
});

describe('the server answers requests', () => {
  async function server(responseBytes = 10) {
    const h = await Harness.create({ tcp: { quickAck: true }, app: { kind: 'http-server', port: 80, responseBytes } });
    const { iss } = h.accept(80, 40000);
    return { h, at: { seq: 101, ack: iss + 1 } };
  }
  /** Sends `request` `piece` bytes at a time; returns the bytes the server sent back. */
  function ask(h: Harness, at: { seq: number; ack: number }, request: string, piece = 1000): { data: Uint8Array; fin: boolean } {
    const out: Sent[] = [];
    const bytes = enc(request);
    for (let i = 0; i < bytes.length; i += piece) {
      const part = bytes.subarray(i, i + piece);
      h.send({ flags: ACK | PSH, seq: at.seq, ack: at.ack, payload: part });
      at.seq += part.length;
      out.push(...h.recv());
    }
    const data = new Uint8Array(out.reduce((n, s) => n + s.payload.length, 0));
    let k = 0;
    for (const s of out) {
      data.set(s.payload, k);
      k += s.payload.length;
    }
    at.ack += data.length + (out.some((s) => s.flags & FIN) ? 1 : 0);
    return { data, fin: out.some((s) => s.flags & FIN) };
  }
  const header = (n: number, close = false) => `HTTP/1.1 200 OK\r\nServer: rssplane\r\nContent-Type: application/octet-stream\r\nContent-Length: ${n}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

  for (const piece of [1, 5, 1000]) {
    it(`keep-alive, then close, requests cut into ${piece}-byte segments`, async () => {
      const { h, at } = await server(10);
      const a = ask(h, at, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', piece);
      expect(dec(a.data)).toBe(header(10) + dec(serverBody(10)));
      expect(a.fin).toBe(false);
      const b = ask(h, at, 'GET /b HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n', piece);
      expect(dec(b.data)).toBe(header(10, true) + dec(serverBody(10)));
      expect(b.fin).toBe(true);
      expect(h.endpoint.counter(TcpStat.APP_SERVED_REQUESTS)).toBe(2);
    });
  }

  it('pipelined requests in one segment are answered in order; HEAD gets the headers alone', async () => {
    const { h, at } = await server(5);
    const r = ask(h, at, 'HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nconnection: close\r\n\r\n');
    expect(dec(r.data)).toBe(header(5) + header(5) + dec(serverBody(5)) + header(5, true) + dec(serverBody(5)));
    expect(r.fin).toBe(true);
  });

  it('HTTP/1.0: closed after the answer unless it asks for keep-alive', async () => {
    const { h, at } = await server(3);
    expect(ask(h, at, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').fin).toBe(false);
    const r = ask(h, at, 'GET / HTTP/1.0\r\n\r\n');
    expect(dec(r.data)).toBe(header(3, true) + dec(serverBody(3)));
    expect(r.fin).toBe(true);
  });

  it('a request body (Content-Length) is skipped, not taken for a request', async () => {
    const { h, at } = await server(2);
    // The body looks like a request: answered as one request all the same (then the real GET).
    const r = ask(h, at, 'POST / HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n', 3);
    expect(dec(r.data)).toBe((header(2) + dec(serverBody(2))).repeat(2));
    expect(h.endpoint.counter(TcpStat.APP_SERVED_REQUESTS)).toBe(2);
  });

  it('a 1 MiB body through a 60 KiB send buffer: written as ACKs free room', async () => {
    const { h, at } = await server(1 << 20);
    h.send({ flags: ACK | PSH, seq: at.seq, ack: at.ack, payload: 'GET / HTTP/1.1\r\n\r\n' });
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (let rounds = 0; rounds < 2000 && length < (1 << 20) + 104; rounds++) {
      const out = h.recv();
      for (const s of out) {
        chunks.push(s.payload);
        length += s.payload.length;
      }
      if (out.length) h.send({ flags: ACK, seq: at.seq + 18, ack: at.ack + length, win: 65535 });
    }
    const received = new Uint8Array(length);
    chunks.reduce((k, c) => (received.set(c, k), k + c.length), 0);
    const head = header(1 << 20);
    expect(dec(received.subarray(0, head.length))).toBe(head);
    expect(crc(received.subarray(head.length))).toBe(crc(serverBody(1 << 20)));
  });
});
