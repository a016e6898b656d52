/**
 * IPFIX (RFC 7011) as rssplane exports it: the two templates (IPv4 and IPv6 biflows, RFC 5103's
 * reverse elements under enterprise 29305), the template message, the stamp each data message gets
 * as it leaves (export time, sequence number), and a reader of messages for tests and tools.
 *
 * The data records themselves are encoded in WASM (assembly/flow/ipfix.ts) in the element order
 * given here; record lengths and template IDs are the ABI's.
 */
import {
  IPFIX_HEADER, IPFIX_STATE, IPX_OUT, IPX_USED, IPFIX_RECORD_V4, IPFIX_RECORD_V6, IPFIX_SET_HEADER, IPFIX_TEMPLATE_V4, IPFIX_TEMPLATE_V6, IPFIX_VERSION,
} from '../../assembly/shared/abi.js';
import { formatAddress } from './addr.js';
import type { Engine } from './engine.js';
import { invalid, RssplaneError } from './errors.js';

/** IANA's IPFIX port (RFC 7011 section 10.3.3). */
export const IPFIX_PORT = 4739;

/** RFC 5103: reverse information elements are the forward ones under this private enterprise number. */
export const REVERSE_PEN = 29305;

export interface Element {
  /** IANA information element name (reverse ones: "reverse" + the name, RFC 5103) */
  name: string;
  id: number;
  length: number;
  enterprise?: number;
}

const reverse = (e: Element): Element => ({ name: `reverse${e.name[0]!.toUpperCase()}${e.name.slice(1)}`, id: e.id, length: e.length, enterprise: REVERSE_PEN });
const tcpControlBits: Element = { name: 'tcpControlBits', id: 6, length: 2 };
const ingressInterface: Element = { name: 'ingressInterface', id: 10, length: 4 };
const octetDeltaCount: Element = { name: 'octetDeltaCount', id: 1, length: 8 };
const packetDeltaCount: Element = { name: 'packetDeltaCount', id: 2, length: 8 };

/** What follows the addresses in both templates (assembly/flow/ipfix.ts writes it in this order). */
const TAIL: Element[] = [
  { name: 'sourceTransportPort', id: 7, length: 2 },
  { name: 'destinationTransportPort', id: 11, length: 2 },
  { name: 'protocolIdentifier', id: 4, length: 1 },
  { name: 'flowEndReason', id: 136, length: 1 },
  tcpControlBits, reverse(tcpControlBits),
  ingressInterface, reverse(ingressInterface),
  octetDeltaCount, packetDeltaCount, reverse(octetDeltaCount), reverse(packetDeltaCount),
  { name: 'flowStartMilliseconds', id: 152, length: 8 },
  { name: 'flowEndMilliseconds', id: 153, length: 8 },
];

export const TEMPLATES: ReadonlyArray<{ id: number; family: 4 | 6; length: number; elements: readonly Element[] }> = [
  {
    id: IPFIX_TEMPLATE_V4, family: 4, length: IPFIX_RECORD_V4,
    elements: [{ name: 'sourceIPv4Address', id: 8, length: 4 }, { name: 'destinationIPv4Address', id: 12, length: 4 }, ...TAIL],
  },
  {
    id: IPFIX_TEMPLATE_V6, family: 6, length: IPFIX_RECORD_V6,
    elements: [{ name: 'sourceIPv6Address', id: 27, length: 16 }, { name: 'destinationIPv6Address', id: 28, length: 16 }, ...TAIL],
  },
];
for (const t of TEMPLATES) {
  const sum = t.elements.reduce((n, e) => n + e.length, 0);
  if (sum !== t.length) throw new Error(`IPFIX template ${t.id}: elements take ${sum} bytes, the engine writes ${t.length}`);
}

/** Largest active timeout: whole milliseconds in the engine's 32 bits. */
export const ACTIVE_TIMEOUT_MAX = Math.floor(0xffffffff / 1000);

/**
 * Starts IPFIX export in `engine` (after its flows are configured): observation domain `domain`
 * (32 bits), active timeout in seconds (0: never). Returns true; throws for values out of range
 * and ENOMEM when the output buffer does not fit.
 */
export function configureIpfix(engine: Engine, o: { domain: number; activeTimeout: number }): boolean {
  if (!Number.isInteger(o.domain) || o.domain < 0 || o.domain > 0xffffffff) invalid('observation domain', o.domain, 'expected 0 to 4294967295');
  if (!(o.activeTimeout >= 0 && o.activeTimeout <= ACTIVE_TIMEOUT_MAX)) invalid('active timeout', o.activeTimeout, `expected seconds from 0 to ${ACTIVE_TIMEOUT_MAX}`);
  const ms = o.activeTimeout > 0 ? Math.max(1, Math.round(o.activeTimeout * 1000)) : 0;
  if (engine.exports.configureIpfix(o.domain >>> 0, ms) !== 0) throw new RssplaneError('ENOMEM', 'engine memory is full: no room for the IPFIX output buffer');
  return true;
}

/** The whole messages the engine's IPFIX output holds, copied out (the output is then empty). */
export function takeIpfixBytes(engine: Engine): Uint8Array[] {
  const dv = new DataView(engine.memory.buffer);
  const used = dv.getUint32(IPFIX_STATE + IPX_USED, true);
  if (!used) return [];
  const at = dv.getUint32(IPFIX_STATE + IPX_OUT, true);
  dv.setUint32(IPFIX_STATE + IPX_USED, 0, true);
  return [engine.bytes.slice(at, at + used)];
}

/** flowEndReason names (IANA). */
export const END_REASONS: Record<number, string> = {
  1: 'idle timeout', 2: 'active timeout', 3: 'end of flow', 4: 'forced end', 5: 'lack of resources',
};

/** The template set (set ID 2) with both templates. */
export function templateSet(): Uint8Array {
  const length = IPFIX_SET_HEADER + TEMPLATES.reduce((n, t) => n + 4 + t.elements.reduce((m, e) => m + (e.enterprise ? 8 : 4), 0), 0);
  const set = new Uint8Array(length);
  const dv = new DataView(set.buffer);
  dv.setUint16(0, 2);
  dv.setUint16(2, length);
  let at = IPFIX_SET_HEADER;
  for (const t of TEMPLATES) {
    dv.setUint16(at, t.id);
    dv.setUint16(at + 2, t.elements.length);
    at += 4;
    for (const e of t.elements) {
      dv.setUint16(at, e.id | (e.enterprise ? 0x8000 : 0));
      dv.setUint16(at + 2, e.length);
      at += 4;
      if (e.enterprise) {
        dv.setUint32(at, e.enterprise);
        at += 4;
      }
    }
  }
  return set;
}

/** A message holding the templates (no data records: its sequence number is the next record's). */
export function templateMessage(domain: number, exportTime: number, sequence: number): Uint8Array {
  const set = templateSet();
  const m = new Uint8Array(IPFIX_HEADER + set.length);
  const dv = new DataView(m.buffer);
  dv.setUint16(0, IPFIX_VERSION);
  dv.setUint16(2, m.length);
  dv.setUint32(4, exportTime >>> 0);
  dv.setUint32(8, sequence >>> 0);
  dv.setUint32(12, domain >>> 0);
  m.set(set, IPFIX_HEADER);
  return m;
}

/**
 * Walks the data messages the engine wrote (back to back in `bytes`): for each, the number of
 * records it holds (the engine leaves it in the sequence-number field) is replaced by `sequence`
 * (the count of records sent before it, mod 2^32) and the export time is set. Returns the records
 * in them all. Runs once per message, never per record.
 */
export function stampMessages(bytes: Uint8Array, exportTime: number, sequence: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let records = 0;
  for (let at = 0; at + IPFIX_HEADER <= bytes.length;) {
    const length = dv.getUint16(at + 2);
    if (length < IPFIX_HEADER) throw new Error(`IPFIX message at ${at}: length ${length}`);
    const n = dv.getUint32(at + 8);
    dv.setUint32(at + 4, exportTime >>> 0);
    dv.setUint32(at + 8, (sequence + records) >>> 0);
    records += n;
    at += length;
  }
  return records;
}

/** The records of each message in `bytes` (as the engine wrote them, before stamping). */
export function messageRecords(bytes: Uint8Array): Array<{ offset: number; length: number; records: number }> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let at = 0; at + IPFIX_HEADER <= bytes.length;) {
    const length = dv.getUint16(at + 2);
    out.push({ offset: at, length, records: dv.getUint32(at + 8) });
    at += length;
  }
  return out;
}

// ---- reading IPFIX back (tests, tools) ----

export interface IpfixMessage {
  version: number;
  exportTime: number;
  sequence: number;
  domain: number;
  /** data records decoded with the templates seen so far: element name -> value */
  records: Array<Record<string, number | bigint | string>>;
  templates: number[];
}

/**
 * Decodes a stream of IPFIX messages (a file, or datagrams concatenated). Templates apply from
 * the message that defines them on. Addresses decode to their text form.
 */
export function readIpfix(bytes: Uint8Array, templates = new Map<number, Element[]>()): IpfixMessage[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: IpfixMessage[] = [];
  for (let at = 0; at < bytes.length;) {
    if (at + IPFIX_HEADER > bytes.length) throw new Error(`IPFIX: ${bytes.length - at} bytes left, short of a message header`);
    const version = dv.getUint16(at);
    const length = dv.getUint16(at + 2);
    if (version !== IPFIX_VERSION || length < IPFIX_HEADER || at + length > bytes.length) throw new Error(`IPFIX: bad message at ${at} (version ${version}, length ${length})`);
    const m: IpfixMessage = { version, exportTime: dv.getUint32(at + 4), sequence: dv.getUint32(at + 8), domain: dv.getUint32(at + 12), records: [], templates: [] };
    for (let s = at + IPFIX_HEADER; s < at + length;) {
      const id = dv.getUint16(s);
      const setLength = dv.getUint16(s + 2);
      if (setLength < IPFIX_SET_HEADER || s + setLength > at + length) throw new Error(`IPFIX: bad set at ${s} (length ${setLength})`);
      const end = s + setLength;
      let p = s + IPFIX_SET_HEADER;
      if (id === 2) {
        while (p + 4 <= end) {
          const tid = dv.getUint16(p);
          const count = dv.getUint16(p + 2);
          p += 4;
          const elements: Element[] = [];
          for (let k = 0; k < count; k++) {
            const raw = dv.getUint16(p);
            const e: Element = { name: '', id: raw & 0x7fff, length: dv.getUint16(p + 2) };
            p += 4;
            if (raw & 0x8000) {
              e.enterprise = dv.getUint32(p);
              p += 4;
            }
            e.name = nameOf(e);
            elements.push(e);
          }
          templates.set(tid, elements);
          m.templates.push(tid);
        }
      } else if (id >= 256) {
        const t = templates.get(id);
        if (!t) throw new Error(`IPFIX: data set ${id} before its template`);
        const size = t.reduce((n, e) => n + e.length, 0);
        while (p + size <= end) {
          const r: Record<string, number | bigint | string> = {};
          for (const e of t) {
            r[e.name] = valueOf(dv, p, e);
            p += e.length;
          }
          m.records.push(r);
        }
      }
      s = end;
    }
    messages.push(m);
    at += length;
  }
  return messages;
}

function nameOf(e: Element): string {
  for (const t of TEMPLATES) for (const x of t.elements) if (x.id === e.id && (x.enterprise ?? 0) === (e.enterprise ?? 0)) return x.name;
  return e.enterprise ? `${e.enterprise}/${e.id}` : String(e.id);
}

function valueOf(dv: DataView, p: number, e: Element): number | bigint | string {
  if (e.name.endsWith('IPv4Address') || e.name.endsWith('IPv6Address')) return formatAddress(new Uint8Array(dv.buffer, dv.byteOffset + p, e.length));
  switch (e.length) {
    case 1: return dv.getUint8(p);
    case 2: return dv.getUint16(p);
    case 4: return dv.getUint32(p);
    case 8: return dv.getBigUint64(p);
    default: return Array.from({ length: e.length }, (_, i) => dv.getUint8(p + i).toString(16).padStart(2, '0')).join('');
  }
}
