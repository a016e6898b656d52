/**
 * The flow the Toeplitz and symmetry views hash: source and destination address and port, typed
 * or taken from the published Microsoft verification vectors.
 */
import { parseAddress, parsePort } from '../core/addr.js';
import { invalid, RssplaneError } from '../core/errors.js';
import { FIELD_SETS, type FieldSetName, type Tuple } from '../core/fields.js';
import { IPV4_VECTORS, IPV6_VECTORS, type VerificationVector } from '../core/vectors.js';
import { byId, messageOf, showFieldError } from './dom.js';

const VECTORS: Record<4 | 6, readonly VerificationVector[]> = { 4: IPV4_VECTORS, 6: IPV6_VECTORS };

export class FlowPanel {
  private readonly src = byId<HTMLInputElement>('src');
  private readonly dst = byId<HTMLInputElement>('dst');
  private readonly sport = byId<HTMLInputElement>('sport');
  private readonly dport = byId<HTMLInputElement>('dport');
  private readonly vector = byId<HTMLSelectElement>('vector');

  /** `onFamily` is told when a chosen vector needs the other address family. */
  constructor(onChange: () => void, onFamily: (family: 4 | 6) => void) {
    this.vector.append(new Option('typed by hand', 'custom'));
    for (const family of [4, 6] as const) {
      VECTORS[family].forEach((v, i) => this.vector.append(new Option(`IPv${family} #${i + 1}: ${v.src} → ${v.dst}`, `${family}:${i}`)));
    }
    this.vector.addEventListener('change', () => {
      const [family, i] = this.vector.value.split(':').map(Number);
      if (family !== 4 && family !== 6) return;
      this.load(VECTORS[family][i!]!);
      onFamily(family);
      onChange();
    });
    for (const e of [this.src, this.dst, this.sport, this.dport]) {
      e.addEventListener('input', () => {
        this.vector.value = this.matchingVector() ?? 'custom';
        onChange();
      });
    }
    this.load(IPV4_VECTORS[0]!);
    this.vector.value = '4:0';
  }

  private load(v: VerificationVector): void {
    this.src.value = v.src;
    this.dst.value = v.dst;
    this.sport.value = String(v.sport);
    this.dport.value = String(v.dport);
  }

  /** The vector the fields hold, as the select names it. */
  private matchingVector(): string | undefined {
    for (const family of [4, 6] as const) {
      const i = VECTORS[family].findIndex((v) => v.src === this.src.value.trim() && v.dst === this.dst.value.trim()
        && String(v.sport) === this.sport.value.trim() && String(v.dport) === this.dport.value.trim());
      if (i >= 0) return `${family}:${i}`;
    }
    return undefined;
  }

  /**
   * The field set changed family: a published vector is swapped for the same-numbered one of the
   * new family, so switching to IPv6 shows an IPv6 hash at once; a typed flow is left alone.
   */
  followFamily(family: 4 | 6): void {
    const [from, i] = (this.matchingVector() ?? 'custom').split(':').map(Number);
    if (from === undefined || Number.isNaN(from) || from === family) return;
    const list = VECTORS[family];
    this.load(list[Math.min(i!, list.length - 1)]!);
    this.vector.value = this.matchingVector() ?? 'custom';
  }

  /** Reads the flow for `fields`, each bad value shown beside its field; undefined while any is bad. */
  read(fields: FieldSetName): Tuple | undefined {
    const info = FIELD_SETS[fields];
    let ok = true;
    const check = <T>(id: string, fn: () => T): T | undefined => {
      try {
        showFieldError(id);
        return fn();
      } catch (e) {
        if (!(e instanceof RssplaneError)) throw e;
        showFieldError(id, messageOf(e));
        ok = false;
        return undefined;
      }
    };
    const address = (input: HTMLInputElement, subject: string) => {
      const a = parseAddress(input.value, subject);
      if (a.family !== info.family) invalid(subject, input.value, `field set ${fields} hashes IPv${info.family} addresses`);
      return a.bytes;
    };
    const src = check('src', () => address(this.src, 'source address'));
    const dst = check('dst', () => address(this.dst, 'destination address'));
    for (const e of [this.sport, this.dport]) {
      e.disabled = !info.ports;
      e.title = info.ports ? '' : `${fields} does not hash ports`;
    }
    const sport = info.ports ? check('sport', () => parsePort(this.sport.value, 'source port')) : (showFieldError('sport'), 0);
    const dport = info.ports ? check('dport', () => parsePort(this.dport.value, 'destination port')) : (showFieldError('dport'), 0);
    if (!ok || !src || !dst || sport === undefined || dport === undefined) return undefined;
    return info.ports ? { src, dst, sport, dport } : { src, dst };
  }
}
