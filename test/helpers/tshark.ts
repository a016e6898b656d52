/**
 * tshark's view of a capture's TCP conversations, and our flow records set against it: packets and
 * bytes per direction (`tshark -q -z conv,tcp`), and the exact byte counts from tshark's length
 * of each frame. Endpoints are compared in one spelling, whichever way round a tool writes them.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { formatAddress, parseAddress, type FlowRecord } from '../../host/core/index.js';

/** "ADDR:PORT" in one spelling: brackets dropped, IPv6 canonical (tcptrace prints fd99::0001). */
export const bare = (endpoint: string) => {
  const text = endpoint.replace(/^\[(.*)\]/, '$1');
  const i = text.lastIndexOf(':');
  return `${formatAddress(parseAddress(text.slice(0, i)).bytes)}:${text.slice(i + 1)}`;
};
/** A connection's key whichever way round its endpoints are written. */
export const pairKey = (a: string, b: string) => [bare(a), bare(b)].sort().join(' ');

export interface PeerDirections {
  /** endpoint that sent direction 0 */
  a: string;
  b: string;
  values: Record<string, [number, number]>;
}

/** tshark's TCP conversations in the capture at `path`: frames and bytes per direction (A -> B is its "->" column). */
export function tsharkConversations(path: string): Map<string, PeerDirections & { exactBytes: [boolean, boolean] }> {
  const text = execFileSync('tshark', ['-r', path, '-q', '-z', 'conv,tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<string, PeerDirections & { exactBytes: [boolean, boolean] }>();
  const unit = { bytes: 1, kB: 1000, MB: 1e6 } as Record<string, number>;
  for (const m of text.matchAll(/^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (bytes|kB|MB)\s+(\d+)\s+(\d+) (bytes|kB|MB)/gm)) {
    const [, a, b, fromB, bytesFromB, unitFromB, fromA, bytesFromA, unitFromA] = m;
    out.set(pairKey(a!, b!), {
      a: a!, b: b!,
      values: {
        packets: [Number(fromA), Number(fromB)],
        bytes: [Number(bytesFromA) * unit[unitFromA!]!, Number(bytesFromB) * unit[unitFromB!]!],
      },
      exactBytes: [unitFromA === 'bytes', unitFromB === 'bytes'],
    });
  }
  return out;
}

/** tshark's per-frame lengths summed per conversation and direction: the exact byte counts. */
export function tsharkFrameBytes(path: string): Map<string, Map<string, number>> {
  const text = execFileSync('tshark', ['-r', path, '-Y', 'tcp', '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<string, Map<string, number>>();
  for (const line of text.trim().split('\n')) {
    const [s4, s6, sp, d4, d6, dp, len] = line.split('\t');
    const src = `${s4 || s6}:${sp}`, dst = `${d4 || d6}:${dp}`;
    const k = pairKey(src, dst);
    if (!out.has(k)) out.set(k, new Map());
    const m = out.get(k)!;
    m.set(src, (m.get(src) ?? 0) + Number(len));
  }
  return out;
}

/** Our per-direction values in the peer's direction order. */
export function ours(r: FlowRecord, peerA: string, pick: (d: FlowRecord['dirs'][0]) => number): [number, number] {
  const v: [number, number] = [pick(r.dirs[0]), pick(r.dirs[1])];
  return bare(r.client) === bare(peerA) ? v : [v[1], v[0]];
}

/**
 * The TCP flow records of the capture at `path` hold tshark's conversations exactly: the same
 * connections, packets per direction, and bytes per direction (conv,tcp prints "172 kB" past 9999
 * bytes, cut to whole kB: exact where it prints bytes, to the kB otherwise, and exact against
 * the lengths tshark gives each frame). Returns how many connections were compared.
 */
export function expectConversations(path: string, records: readonly FlowRecord[]): number {
  const tcp = records.filter((r) => r.proto === 'tcp');
  const peer = tsharkConversations(path);
  const frameBytes = tsharkFrameBytes(path);
  expect(new Set(tcp.map((r) => pairKey(r.client, r.server)))).toEqual(new Set(peer.keys()));
  for (const r of tcp) {
    const key = pairKey(r.client, r.server);
    const p = peer.get(key)!;
    expect(ours(r, p.a, (d) => d.packets), key).toEqual(p.values.packets);
    const bytes = ours(r, p.a, (d) => d.bytes);
    bytes.forEach((n, i) => expect(p.exactBytes[i] ? n : Math.trunc(n / 1000) * 1000, key).toBe(p.values.bytes![i]));
    const frames = frameBytes.get(key)!;
    expect([frames.get(bare(p.a)) ?? 0, frames.get(bare(p.b)) ?? 0], key).toEqual(bytes);
  }
  return peer.size;
}
