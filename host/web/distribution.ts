/**
 * Distribution: where many flows land. Random flows are hashed in one WASM batch call and counted
 * per queue in WASM; a dropped capture is read, parsed and hashed in WASM by the same flow engine
 * as `rssplane run --input`, in this page (nothing is uploaded).
 */
import { CaptureReader, type CaptureSummary } from '../core/capture.js';
import { Engine } from '../core/engine.js';
import { invalid, RssplaneError } from '../core/errors.js';
import { FlowEngine, type FlowStats } from '../core/flows.js';
import { fillRandom } from '../core/random.js';
import { HashBatch, type RssConfig } from '../core/rss.js';
import { AdviceView } from './advice.js';
import { byId, colour, h, messageOf, percent, showFieldError, thousands } from './dom.js';
import type { Settings } from './settings.js';

/** Most random flows at once: 4 million ipv6-l4 tuples are 144 MB of engine memory. */
const FLOWS_MAX = 4_000_000;

/** Whether two configs hash alike (the table aside): then only the counting must be redone. */
function sameHash(a: RssConfig | undefined, b: RssConfig): boolean {
  return !!a && a.fields === b.fields && a.hfunc === b.hfunc && a.xfrm === b.xfrm
    && a.key.length === b.key.length && a.key.every((x, i) => x === b.key[i]);
}

interface Shown {
  counts: ArrayLike<number>;
  unit: string;
  stats: Array<{ label: string; value: string; tone?: 'good' | 'bad'; id?: string }>;
  timing: string;
  warnings: string[];
}

export class DistributionView {
  private batch: HashBatch | undefined;
  private hashedWith: RssConfig | undefined;
  private fresh = true;
  private file: File | undefined;
  /** Bumped by every capture run, so a slower earlier run stops when a newer one starts. */
  private generation = 0;
  private readonly count = byId<HTMLInputElement>('flow-count');
  private readonly advice: AdviceView;

  /** `useWeights`: puts weights into the table settings (the advice's Fix 1, applied). */
  constructor(private readonly engine: Engine, private readonly onChange: () => void, useWeights: (weights: number[]) => void) {
    this.advice = new AdviceView(useWeights);
    const random = byId<HTMLInputElement>('source-random');
    const capture = byId<HTMLInputElement>('source-capture');
    for (const r of [random, capture]) r.addEventListener('change', () => this.showSource());
    this.count.addEventListener('input', onChange);
    byId('regenerate').addEventListener('click', () => {
      this.fresh = true;
      onChange();
    });
    const input = byId<HTMLInputElement>('capture-file');
    input.addEventListener('change', () => {
      if (input.files?.[0]) this.take(input.files[0]);
    });
    const zone = byId('drop-zone');
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      input.value = ''; // the file input would still name the previous choice
      this.take(file);
    });
  }

  private get source(): 'random' | 'capture' {
    return byId<HTMLInputElement>('source-capture').checked ? 'capture' : 'random';
  }

  private showSource(): void {
    byId('random-controls').hidden = this.source !== 'random';
    byId('capture-controls').hidden = this.source !== 'capture';
    this.onChange();
  }

  /** A capture chosen or dropped: switch to it and count. */
  private take(file: File): void {
    this.file = file;
    byId('capture-loaded').textContent = `${file.name}, ${file.size.toLocaleString('en-US')} bytes: drop another to replace it`;
    byId<HTMLInputElement>('source-capture').checked = true;
    this.showSource();
  }

  async render(settings: Settings): Promise<void> {
    if (this.source === 'random') {
      this.advice.show(undefined);
      this.show(settings, this.random(settings.config));
    } else {
      await this.capture(settings);
    }
  }

  /** Random flows: fill (crypto), hash (one WASM call), count (WASM); redo only what changed. */
  private random(config: RssConfig): Shown | undefined {
    let n: number;
    try {
      showFieldError('flow-count');
      const text = this.count.value.replace(/[,_\s]/g, '');
      if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > FLOWS_MAX) invalid('flows', this.count.value, `a whole number from 1 to ${thousands(FLOWS_MAX)}`);
      n = Number(text);
    } catch (e) {
      if (!(e instanceof RssplaneError)) throw e;
      showFieldError('flow-count', messageOf(e));
      byId('view-distribution').classList.add('stale');
      return undefined;
    }
    let fill = 0, hash = 0;
    const t0 = performance.now();
    if (this.fresh || !this.batch || this.batch.fields !== config.fields || this.batch.capacity !== n) {
      this.batch?.free();
      this.batch = undefined; // a new one may not fit; never keep one that was freed
      this.batch = new HashBatch(this.engine, config, n, config.fields);
      fillRandom(this.batch.tuples);
      this.hashedWith = undefined;
      this.fresh = false;
      fill = performance.now() - t0;
    }
    const batch = this.batch;
    batch.reprogram(config);
    const t1 = performance.now();
    if (!sameHash(this.hashedWith, config)) {
      batch.run(n);
      this.hashedWith = config;
      hash = performance.now() - t1;
    }
    const t2 = performance.now();
    const counts = batch.queueCounts(n);
    const count = performance.now() - t2;
    const kernel = this.engine.kernel;
    // The figures as numbers too, for scripts/bench-web.mjs.
    Object.assign(byId('distribution-timing').dataset, {
      flows: String(n), fillMs: fill.toFixed(2), hashMs: hash.toFixed(2), countMs: count.toFixed(2), totalMs: (performance.now() - t0).toFixed(2),
    });
    const parts = [
      fill ? `tuples from crypto.getRandomValues in ${fill.toFixed(1)} ms` : '',
      hash ? `hashed in one WASM call in ${hash.toFixed(1)} ms` : 'hashes kept (only the table changed)',
      `counted per queue in WASM in ${count.toFixed(1)} ms`,
    ].filter(Boolean);
    return {
      counts, unit: 'flows',
      stats: [{ label: 'random flows', value: thousands(n), id: 'stat-flows' }],
      timing: `${thousands(n)} ${config.fields} flows: ${parts.join(', ')} (${kernel} kernel); ${(performance.now() - t0).toFixed(1)} ms in all.`,
      warnings: [],
    };
  }

  /** The capture through the flow engine, as `rssplane run --input` counts it. */
  private async capture(settings: Settings): Promise<void> {
    showFieldError('capture');
    const file = this.file;
    this.advice.show(undefined);
    if (!file) {
      this.show(settings, { counts: [], unit: 'packets', stats: [], timing: '', warnings: [] }, 'Drop a capture above, or choose one: its packets are counted per queue here.');
      return;
    }
    const generation = ++this.generation;
    const t0 = performance.now();
    let stats: FlowStats;
    let summary: CaptureSummary;
    let engine: Engine;
    try {
      engine = await Engine.create();
      // A small flow table: the counts per queue do not depend on it (full tables evict).
      const flows = FlowEngine.create(engine, settings.config, { flows: 1 << 16 });
      const reader = CaptureReader.create(engine, { name: file.name, chunkSize: 4 << 20 });
      const stream = file.stream().getReader();
      for (;;) {
        const { value, done } = await stream.read();
        if (generation !== this.generation) {
          await stream.cancel();
          return;
        }
        if (done) break;
        for (const batch of reader.write(value)) flows.process(batch);
      }
      summary = reader.finish();
      flows.finish();
      stats = flows.stats();
    } catch (e) {
      if (generation !== this.generation) return;
      if (e instanceof RssplaneError && e.subject === 'capture') {
        showFieldError('capture', e.message);
        this.show(settings, { counts: [], unit: 'packets', stats: [], timing: '', warnings: [] }, 'This file could not be read.');
        return;
      }
      throw e;
    }
    if (generation !== this.generation) return;
    const drops = Object.entries(stats.drops).map(([reason, n]) => `${thousands(n)} ${reason}`).join(', ');
    this.show(settings, {
      counts: stats.queues, unit: 'packets',
      stats: [
        { label: 'packets', value: thousands(stats.received), id: 'stat-packets' },
        { label: 'not IP (queue 0)', value: thousands(stats.unhashed) },
        { label: 'dropped', value: thousands(stats.dropped), tone: stats.dropped ? 'bad' : undefined },
        { label: 'TCP flows', value: thousands(stats.flows.created) },
      ],
      timing: `${file.name}: ${thousands(summary.inputBytes)} bytes (${summary.format}) read, parsed and hashed in WASM in ${(performance.now() - t0).toFixed(1)} ms; nothing left this page.`,
      warnings: [...summary.warnings, ...(drops ? [`dropped: ${drops}`] : [])],
    });
    this.advice.show({ stats, settings, engine });
  }

  private show(settings: Settings, shown: Shown | undefined, empty = ''): void {
    if (!shown) return;
    const reta = settings.config.reta!;
    const queues = Math.max(reta.queues, shown.counts.length);
    const counts = Array.from({ length: queues }, (_, q) => Number(shown.counts[q] ?? 0));
    const total = counts.reduce((a, b) => a + b, 0);
    const fed = new Set(reta.table);
    const mean = total / fed.size;
    const max = Math.max(...counts);
    const busiest = counts.indexOf(max);
    const fedCounts = counts.filter((_, q) => fed.has(q));
    const min = Math.min(...fedCounts);
    const quietest = counts.findIndex((c, q) => fed.has(q) && c === min);
    const imbalance = total ? max / mean : 0;

    byId('distribution-stats').replaceChildren(...(total ? [
      ...shown.stats,
      { label: 'queues fed', value: `${fed.size}` },
      { label: `busiest (queue ${busiest})`, value: percent(max / total) },
      { label: `quietest (queue ${quietest})`, value: percent(min / total) },
      { label: 'imbalance max/mean', value: imbalance.toFixed(3), id: 'stat-imbalance', tone: imbalance > 1.2 ? 'bad' as const : 'good' as const },
    ] : shown.stats).map((s) => h('div', { class: `stat ${s.tone ?? ''}` },
      h('div', { class: 'card-label' }, s.label), h('div', { class: 'card-value mono', id: s.id }, s.value))));

    const histogram = byId('histogram');
    if (!total) {
      histogram.replaceChildren(h('div', { class: 'empty' }, empty || 'Nothing to count.'));
    } else {
      const labelled = queues <= 48;
      const bars = counts.map((c, q) => {
        const bar = h('div', { class: 'bar', title: `queue ${q}: ${thousands(c)} ${shown.unit} (${percent(c / total)})`, 'data-queue': String(q) },
          h('div', { style: `height:${(c / max) * 100}%;background:${colour(q)}` }));
        if (labelled) bar.append(h('span', {}, String(q)));
        return bar;
      });
      const line = h('div', { class: 'mean', style: `bottom:${26 + (mean / max) * 198}px` }, h('span', {}, `mean ${thousands(Math.round(mean))}`));
      histogram.replaceChildren(...bars, line);
    }
    byId('distribution-timing').textContent = shown.timing;
    byId('distribution-warnings').replaceChildren(...shown.warnings.map((w) => h('div', {}, w)));

    const rows = counts.map((c, q) => h('tr', {},
      h('td', {}, h('span', { class: 'swatch', style: `background:${colour(q)}` }), `queue ${q}${fed.has(q) ? '' : ' (not in the table)'}`),
      h('td', { id: `queue-count-${q}` }, thousands(c)),
      h('td', {}, total ? percent(c / total) : '–'),
      h('td', { class: 'share' }, h('div', { class: 'sharebar' }, h('div', { style: `width:${max ? (c / max) * 100 : 0}%;background:${colour(q)}` })))));
    byId('queue-counts').replaceChildren(
      h('thead', {}, h('tr', {}, h('th', {}, 'queue'), h('th', {}, shown.unit), h('th', {}, 'share'), h('th', { class: 'share' }, ''))),
      h('tbody', {}, ...rows));
    byId<HTMLDetailsElement>('counts-details').open = queues <= 32;
  }
}
