/**
 * Symmetry: the flow and its reply side by side, and what the key does to every flow (proved from
 * the hash's matrix by analyze(), not sampled).
 */
import { formatAddress, formatEndpoint } from '../core/addr.js';
import { reachableEntries } from '../core/analysis.js';
import { FIELD_SETS, type Tuple } from '../core/fields.js';
import { presetName } from '../core/key.js';
import type { RssHasher } from '../core/rss.js';
import { byId, h, hex32, thousands } from './dom.js';
import type { Settings } from './settings.js';

export interface SymmetryActions {
  useSymmetricKey(): void;
  useSymmetricXor(): void;
}

const endpoints = (t: Tuple, ports: boolean) => {
  const e = (a: Uint8Array, p: number | undefined) => (ports ? formatEndpoint(a, p!) : formatAddress(a));
  return `${e(t.src as Uint8Array, t.sport)}  →  ${e(t.dst as Uint8Array, t.dport)}`;
};

export class SymmetryView {
  constructor(private readonly actions: SymmetryActions) {}

  render(settings: Settings, tuple: Tuple, rss: RssHasher): void {
    const { config } = settings;
    const reta = config.reta!;
    const ports = FIELD_SETS[config.fields].ports;
    const reverse: Tuple = { src: tuple.dst, dst: tuple.src, sport: tuple.dport, dport: tuple.sport };
    const side = (t: Tuple, id: string) => {
      const hash = rss.hash(t);
      const index = hash & (reta.size - 1);
      byId(`${id}-tuple`).textContent = endpoints(t, ports);
      byId(`${id}-result`).replaceChildren(
        h('dt', {}, 'hash'), h('dd', { id: `${id}-hash` }, hex32(hash)),
        h('dt', {}, 'table index'), h('dd', {}, String(index)),
        h('dt', {}, 'queue'), h('dd', { id: `${id}-queue` }, String(reta.table[index])),
      );
      return { hash, index, queue: reta.table[index]! };
    };
    const f = side(tuple, 'forward');
    const r = side(reverse, 'reverse');

    const verdict = byId('symmetry-verdict');
    verdict.className = `verdict ${f.queue === r.queue ? 'good' : 'bad'}`;
    verdict.textContent = f.hash === r.hash
      ? `Both directions hash to ${hex32(f.hash)}: the reply lands on queue ${f.queue} with the request, whatever the table.`
      : f.queue === r.queue
        ? `The hashes differ, but entries ${f.index} and ${r.index} both feed queue ${f.queue}: together here by the table's choice, not the key's.`
        : `The request lands on queue ${f.queue}, the reply on queue ${r.queue}: a core that tracks connections would see each half on a different core.`;

    const a = rss.analyze();
    const items: Array<[string, string]> = [
      ['symmetric', a.symmetric ? 'yes, for every tuple of the field set' : 'no'],
      ['rank', `${a.rank} of 32`],
      ['distinct hashes', `${thousands(a.distinctHashes)} (2^${a.rank})`],
    ];
    // Entries any traffic reaches: the span of the columns' low bits (without a transform that
    // pairs fields, which changes the span).
    if (config.xfrm === 'none') items.push(['table entries reachable', `${thousands(reachableEntries(rss.columns(), config.fields, reta.size))} of ${thousands(reta.size)}`]);
    byId('analysis').replaceChildren(...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { id: `analysis-${k.replace(/ /g, '-')}` }, v)]));
    byId('analysis-reason').textContent = a.reason;

    const buttons: HTMLButtonElement[] = [];
    if (!a.symmetric) {
      if (presetName(config.key) !== 'symmetric' && config.hfunc === 'toeplitz') {
        const b = h('button', { type: 'button', class: 'ghost' }, 'Try the symmetric key (0x6d5a repeated)');
        b.addEventListener('click', () => this.actions.useSymmetricKey());
        buttons.push(b);
      }
      const x = h('button', { type: 'button', class: 'ghost' }, 'Try the symmetric-xor transform');
      x.addEventListener('click', () => this.actions.useSymmetricXor());
      buttons.push(x);
    }
    byId('symmetry-actions').replaceChildren(...buttons);
  }
}
