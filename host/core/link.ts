/**
 * The link layer of an engine (assembly/link): ARP and IPv6 neighbour discovery for our
 * addresses, echo answered, a neighbour cache, everything else counted and dropped. This wraps
 * its configuration, its counters and its resolve call; frames go through `batch` a descriptor
 * batch at a time, and what it sends comes out as frames in a transmit slot (abi.ts "rings").
 *
 *   const engine = await Engine.create();
 *   const link = Link.configure(engine, { mac, ipv4: { address, prefix: 24 } }, { shape });
 *   const tx = allocateSlot(engine, shape);
 *   link.batch(batch, tx, 0, 0, now);        // replies now in the slot at `tx`
 *   link.resolve(parseIPv4('198.18.0.1'), tx, now);
 *
 * Isomorphic: no Node imports (the DPDK loop that drives it is host/node/link/).
 */
import {
  LINK_ADDRESS, LINK_FLAGS, LINK_GATEWAY4, LINK_GATEWAY6, LINK_IPV4, LINK_IPV4_PREFIX, LINK_IPV6,
  LINK_IPV6_LINK_LOCAL, LINK_IPV6_PREFIX, LINK_MAC, LINK_NEIGHBOUR_CAPACITY, LINK_NEIGHBOURS, LINK_NEXT_HOP,
  LINK_PASS_COUNT, LINK_RESOLVE_PROBES, LINK_RESOLVE_WAITED_MS, LINK_RESOLVED_MAC, LINK_STAT_DROP, LINK_STATE,
  LINK_STATS, LINK_STATS_COUNT, LinkFlag, LinkResolve, NB_ADDRESS, NB_FAMILY, NB_MAC, NB_PROBES, NB_STATE,
  NEIGHBOUR_ENTRY, NEIGHBOURS_MAX, SLOT_COUNT, SLOT_DESCRIPTORS, PKT_DESCRIPTOR, Status,
} from '../../assembly/shared/abi.js';
import { formatAddress, type Family } from './addr.js';
import type { Engine, PacketBatch } from './engine.js';
import { RssplaneError } from './errors.js';

/** Our side of the link. Addresses are bytes in network order. */
export interface LinkAddresses {
  /** 6 bytes, unicast */
  mac: Uint8Array;
  ipv4?: { address: Uint8Array; prefix: number };
  ipv6?: { address: Uint8Array; prefix: number };
  /** next hop for IPv4 destinations off our prefix (on it) */
  gateway4?: Uint8Array;
  gateway6?: Uint8Array;
}

/** The shape of a slot: descriptors and bytes (abi.ts "rings"). */
export interface SlotShape {
  slotPackets: number;
  slotBytes: number;
}

/** RFC 4861 10's timers and limits (ARP uses the same); the defaults are the RFC's. */
export interface LinkTimers {
  retransMs: number;
  reachableMs: number;
  delayMs: number;
  /** how long an unused STALE entry is kept (Linux's gc_stale_time) */
  staleMs: number;
  /** how long a FAILED entry is kept, so that the failure can be reported */
  failedMs: number;
  multicastSolicit: number;
  unicastSolicit: number;
}

export const DEFAULT_LINK_TIMERS: LinkTimers = {
  retransMs: 1000, reachableMs: 30000, delayMs: 5000, staleMs: 60000, failedMs: 3000, multicastSolicit: 3, unicastSolicit: 3,
};

export const DEFAULT_NEIGHBOURS = 256;

/** The names of LinkDrop's reasons, in its order (abi.ts), as the JSON summaries print them. */
export const LINK_DROP_NAMES = [
  'descriptor', 'ethernet_truncated', 'other_mac', 'own_frame', 'ethertype', 'vlan', 'arp_malformed', 'arp_other_target',
  'address_conflict', 'ipv4_truncated', 'ipv4_malformed', 'ipv4_bad_checksum', 'ipv6_truncated', 'ipv6_malformed',
  'other_ip', 'fragment', 'icmp_truncated', 'icmp_bad_checksum', 'icmpv6_bad_checksum', 'icmp_unsupported', 'nd_invalid',
  'nd_other_target', 'nd_router', 'bad_source', 'udp', 'tcp', 'protocol',
] as const;
export type LinkDropName = (typeof LINK_DROP_NAMES)[number];
/** Drops that are not faults: frames meant for someone else. */
export const NOT_FOR_US: readonly LinkDropName[] = ['other_mac', 'other_ip', 'arp_other_target', 'nd_other_target'];

/** The counters of abi.ts LINK_STAT_*, in index order. */
const STAT_NAMES = [
  'received', 'processed', 'dropped', 'passed', 'bytes', 'arp_replies_sent', 'arp_replies_received', 'arp_requests_sent',
  'na_sent', 'na_received', 'ns_sent', 'echo_replies', 'echo6_replies', 'gratuitous', 'neighbours_created',
  'neighbours_changed', 'neighbours_resolved', 'neighbours_failed', 'neighbours_expired', 'neighbours_evicted',
  'copies_out', 'copies_in', 'copies_lost', 'tx_too_big',
] as const;
export type LinkStatName = (typeof STAT_NAMES)[number];

/** What a link layer counted. received = processed + dropped. */
export type LinkStats = Record<LinkStatName, number> & { drops: Record<LinkDropName, number> };

export const NEIGHBOUR_STATES = ['FREE', 'INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED'] as const;
export type NeighbourStateName = (typeof NEIGHBOUR_STATES)[number];

export interface Neighbour {
  family: Family;
  address: string;
  /** aa:bb:cc:dd:ee:ff, or '' before it is known */
  mac: string;
  state: NeighbourStateName;
  /** solicitations sent in this state */
  probes: number;
}

export type ResolveResult =
  | { status: 'resolved'; mac: string; nextHop: string }
  | { status: 'pending'; nextHop: string }
  /** the solicitation waits for room in the transmit slot; it goes out at the next poll */
  | { status: 'deferred'; nextHop: string }
  | { status: 'failed'; nextHop: string; probes: number; waitedMs: number }
  | { status: 'no-route' }
  | { status: 'no-address' }
  | { status: 'bad-address' };

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses aa:bb:cc:dd:ee:ff (or with dashes); EINVAL naming `subject` otherwise. */
export function parseMac(text: string, subject = '--mac'): Uint8Array {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RssplaneError('EINVAL', `bad ${subject} "${text}": expected six hex pairs, as 02:00:00:00:00:01`, subject);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** A slot of `shape` in the engine's memory, empty: a transmit slot, or the copies slot. */
export function allocateSlot(engine: Engine, shape: SlotShape): number {
  const slot = engine.allocate(shape.slotBytes);
  engine.u32(slot, 2).fill(0);
  return slot;
}

/** The frames in a slot (bytes copied out): for tests and reports, never on the hot path. */
export function slotFrames(engine: Engine, slot: number, shape: SlotShape): Uint8Array[] {
  const count = engine.u32(slot + SLOT_COUNT, 1)[0]!;
  const data = slot + SLOT_DESCRIPTORS + shape.slotPackets * PKT_DESCRIPTOR;
  const d = new DataView(engine.memory.buffer);
  return Array.from({ length: count }, (_, i) => {
    const at = d.getUint32(slot + SLOT_DESCRIPTORS + i * PKT_DESCRIPTOR, true);
    const caplen = d.getUint32(slot + SLOT_DESCRIPTORS + i * PKT_DESCRIPTOR + 4, true);
    return engine.bytes.slice(data + at, data + at + caplen);
  });
}

/** Empties a slot (after sending it). */
export function clearSlot(engine: Engine, slot: number): void {
  engine.u32(slot + SLOT_COUNT, 2).fill(0); // SLOT_COUNT and SLOT_BYTES
}

export class Link {
  private constructor(
    readonly engine: Engine,
    readonly addresses: LinkAddresses,
    readonly shape: SlotShape,
  ) {}

  /**
   * Writes our addresses into LINK_STATE and configures the engine's link layer: a neighbour
   * cache of `neighbours` entries (a power of two, 8 to 65536), transmit and copies slots of
   * `shape`. Throws EINVAL for what the engine refuses (a group MAC, a gateway off the link...);
   * the CLI checks these first and says so on one line.
   */
  static configure(engine: Engine, addresses: LinkAddresses, options: { shape: SlotShape; neighbours?: number; timers?: Partial<LinkTimers> }): Link {
    const neighbours = options.neighbours ?? DEFAULT_NEIGHBOURS;
    if (!(neighbours >= 8 && neighbours <= NEIGHBOURS_MAX && (neighbours & (neighbours - 1)) === 0)) {
      throw new RssplaneError('EINVAL', `bad neighbour cache size ${neighbours}: a power of two from 8 to ${NEIGHBOURS_MAX}`, 'neighbours');
    }
    const base = LINK_STATE;
    const bytes = engine.bytes;
    bytes.fill(0, base, base + LINK_IPV6_LINK_LOCAL);
    bytes.set(addresses.mac.subarray(0, 6), base + LINK_MAC);
    let flags = 0;
    const view = new DataView(engine.memory.buffer);
    if (addresses.ipv4) {
      flags |= LinkFlag.IPV4;
      bytes.set(addresses.ipv4.address, base + LINK_IPV4);
      view.setUint32(base + LINK_IPV4_PREFIX, addresses.ipv4.prefix, true);
    }
    if (addresses.ipv6) {
      flags |= LinkFlag.IPV6;
      bytes.set(addresses.ipv6.address, base + LINK_IPV6);
      view.setUint32(base + LINK_IPV6_PREFIX, addresses.ipv6.prefix, true);
    }
    if (addresses.gateway4) {
      flags |= LinkFlag.GATEWAY4;
      bytes.set(addresses.gateway4, base + LINK_GATEWAY4);
    }
    if (addresses.gateway6) {
      flags |= LinkFlag.GATEWAY6;
      bytes.set(addresses.gateway6, base + LINK_GATEWAY6);
    }
    view.setUint32(base + LINK_FLAGS, flags, true);
    const status = engine.exports.linkConfigure(neighbours, options.shape.slotPackets, options.shape.slotBytes);
    if (status !== Status.OK) {
      throw new RssplaneError('EINVAL', status === Status.BAD_SIZE
        ? `a slot of ${options.shape.slotBytes} bytes cannot hold ${options.shape.slotPackets} descriptors and a frame`
        : 'the link layer refuses these addresses (a group or zero MAC, a prefix out of range, a gateway off the link)', 'link');
    }
    const t = { ...DEFAULT_LINK_TIMERS, ...options.timers };
    engine.exports.linkTimers(t.retransMs, t.reachableMs, t.delayMs, t.staleMs, t.failedMs, t.multicastSolicit, t.unicastSolicit);
    return new Link(engine, addresses, options.shape);
  }

  /** Our IPv6 link-local address (fe80:: and the MAC's EUI-64), which we also answer for. */
  get linkLocal(): Uint8Array {
    return this.engine.bytes.slice(LINK_STATE + LINK_IPV6_LINK_LOCAL, LINK_STATE + LINK_IPV6_LINK_LOCAL + 16);
  }

  /**
   * Hands `batch` to the link layer at `now` (ns, the host's clock): replies into `tx`, frames to
   * learn from into `copies` (0: none), TCP to us onto `pass` (0: dropped). Returns how many
   * frames it took; fewer than `batch.count` means `tx` is full: send it, clear it, call again.
   */
  batch(batch: PacketBatch, tx: number, copies: number, pass: number, now: bigint): number {
    return this.engine.exports.linkBatch(batch.descriptors, batch.count, tx, copies, pass, now);
  }

  /** Runs the neighbour timers due at `now` (solicitations into `tx`). */
  poll(tx: number, now: bigint): void {
    this.engine.exports.linkPoll(tx, now);
  }

  /** TCP segments put in the pass list since it was last cleared. */
  get passCount(): number {
    return this.engine.u32(LINK_STATE + LINK_PASS_COUNT, 1)[0]!;
  }

  clearPass(): void {
    this.engine.u32(LINK_STATE + LINK_PASS_COUNT, 1)[0] = 0;
  }

  /** The next hop of `address` (4 or 16 bytes): resolved, or a solicitation sent into `tx`, or why not. */
  resolve(address: Uint8Array, tx: number, now: bigint): ResolveResult {
    const family = address.length === 4 ? 4 : 6;
    const bytes = this.engine.bytes;
    bytes.fill(0, LINK_STATE + LINK_ADDRESS, LINK_STATE + LINK_ADDRESS + 16);
    bytes.set(address, LINK_STATE + LINK_ADDRESS);
    const status = this.engine.exports.linkResolve(family, tx, now);
    const hop = () => formatAddress(this.engine.bytes.slice(LINK_STATE + LINK_NEXT_HOP, LINK_STATE + LINK_NEXT_HOP + (family === 4 ? 4 : 16)));
    switch (status) {
      case LinkResolve.RESOLVED:
        return { status: 'resolved', mac: formatMac(this.engine.bytes.subarray(LINK_STATE + LINK_RESOLVED_MAC)), nextHop: hop() };
      case LinkResolve.PENDING:
        return { status: 'pending', nextHop: hop() };
      case LinkResolve.DEFERRED:
        return { status: 'deferred', nextHop: hop() };
      case LinkResolve.FAILED: {
        const u32 = this.engine.u32(LINK_STATE + LINK_RESOLVE_PROBES, 2);
        return { status: 'failed', nextHop: hop(), probes: u32[0]!, waitedMs: u32[LINK_RESOLVE_WAITED_MS / 4 - LINK_RESOLVE_PROBES / 4]! };
      }
      case LinkResolve.NO_ROUTE:
        return { status: 'no-route' };
      case LinkResolve.NO_ADDRESS:
        return { status: 'no-address' };
      default:
        return { status: 'bad-address' };
    }
  }

  /** An upper layer's word that `address` answered (TCP progress): REACHABLE without a probe. */
  confirm(address: Uint8Array, now: bigint): boolean {
    this.engine.bytes.fill(0, LINK_STATE + LINK_ADDRESS, LINK_STATE + LINK_ADDRESS + 16);
    this.engine.bytes.set(address, LINK_STATE + LINK_ADDRESS);
    return this.engine.exports.linkConfirm(address.length === 4 ? 4 : 6, now) !== 0;
  }

  /** The counters, read from LINK_STATE. */
  stats(): LinkStats {
    const c = new BigUint64Array(this.engine.memory.buffer, LINK_STATE + LINK_STATS, LINK_STATS_COUNT);
    const out = Object.fromEntries(STAT_NAMES.map((n, i) => [n, Number(c[i])])) as Record<LinkStatName, number>;
    const drops = Object.fromEntries(LINK_DROP_NAMES.map((n, i) => [n, Number(c[LINK_STAT_DROP + i])])) as Record<LinkDropName, number>;
    return { ...out, drops };
  }

  /** The neighbour cache's live entries (read from the table: for reports, not the hot path). */
  neighbours(): Neighbour[] {
    const u32 = this.engine.u32(LINK_STATE + LINK_NEIGHBOURS, 2);
    const table = u32[0]!, capacity = u32[LINK_NEIGHBOUR_CAPACITY / 4 - LINK_NEIGHBOURS / 4]!;
    const bytes = this.engine.bytes;
    const out: Neighbour[] = [];
    for (let i = 0; i < capacity; i++) {
      const e = table + i * NEIGHBOUR_ENTRY;
      const state = NEIGHBOUR_STATES[bytes[e + NB_STATE]!] ?? 'FREE';
      if (state === 'FREE') continue;
      const family = bytes[e + NB_FAMILY] === 4 ? 4 : 6;
      const hasMac = state !== 'INCOMPLETE' && state !== 'FAILED';
      out.push({
        family, state, probes: bytes[e + NB_PROBES]!,
        address: formatAddress(bytes.slice(e + NB_ADDRESS, e + NB_ADDRESS + (family === 4 ? 4 : 16))),
        mac: hasMac ? formatMac(bytes.subarray(e + NB_MAC)) : '',
      });
    }
    return out;
  }
}

/** Adds link stats of several cores together (drops too). */
export function addLinkStats(all: readonly LinkStats[]): LinkStats {
  const sum = Object.fromEntries(STAT_NAMES.map((n) => [n, all.reduce((s, x) => s + x[n], 0)])) as Record<LinkStatName, number>;
  const drops = Object.fromEntries(LINK_DROP_NAMES.map((n) => [n, all.reduce((s, x) => s + x.drops[n], 0)])) as Record<LinkDropName, number>;
  return { ...sum, drops };
}

/**
 * What a failed or impossible resolve means, in a line a user can act on. `address` is what was
 * asked for; `ours` our address on the link in ADDR/LEN form, when the family has one.
 */
export function resolveMessage(address: string, r: ResolveResult, ours?: string): string {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  const protocol = family === 'IPv4' ? 'ARP' : 'neighbour discovery';
  const asked = family === 'IPv4' ? 'ARP requests' : 'neighbour solicitations';
  switch (r.status) {
    case 'failed': {
      const via = r.nextHop === address ? '' : ` (its gateway ${r.nextHop})`;
      const seconds = (r.waitedMs / 1000).toFixed(1).replace(/\.0$/, '');
      return `no ${protocol} answer from ${address}${via} to ${r.probes} ${asked} in ${seconds} s: is it up and on the link${ours ? ` of ${ours}` : ''}?`;
    }
    case 'no-route':
      return `${address} is not on the link${ours ? ` of ${ours}` : ''} and there is no --gateway for ${family}`;
    case 'no-address':
      return `${address} is ${family}, and there is no ${family === 'IPv4' ? '--ip' : '--ip6'} to send from`;
    case 'bad-address':
      return `${address} cannot be a neighbour (multicast, unspecified, loopback, or our own address)`;
    default:
      return `${address}: ${r.status}`;
  }
}
