/**
 * Advice for a dropped capture: the same library call as `rssplane advise` (adviseStats), on the
 * counters the page's flow engine kept while reading the capture. The current table and the
 * proposed one (Fix 2) are drawn side by side, entries coloured by queue, moved entries marked.
 */
import { INPUT_MAX, RSS_COLUMNS } from '../../assembly/shared/abi.js';
import { adviseStats, type Advice, type Metric } from '../core/advise.js';
import type { Engine } from '../core/engine.js';
import { invalid, RssplaneError } from '../core/errors.js';
import type { FlowStats } from '../core/flows.js';
import { byId, colour, h, messageOf, percent, showFieldError, thousands } from './dom.js';
import type { Settings } from './settings.js';

/** What the advice is computed from: one engine's counters after the capture, and its settings. */
export interface AdviceSource {
  stats: FlowStats;
  settings: Settings;
  engine: Engine;
}

export class AdviceView {
  private source: AdviceSource | undefined;
  private readonly metric = byId<HTMLSelectElement>('advice-metric');
  private readonly moves = byId<HTMLInputElement>('advice-moves');
  private shown: Advice | undefined;

  /** `useWeights`: puts Fix 1's weights into the table settings (the capture is then counted again). */
  constructor(private readonly useWeights: (weights: number[]) => void) {
    this.metric.addEventListener('input', () => this.render());
    this.moves.addEventListener('input', () => this.render());
    byId('advice-use-weights').addEventListener('click', () => {
      if (this.shown) this.useWeights(this.shown.weights.weights);
    });
  }

  /** Advice for this capture's counters (or none: random flows have no per-entry flows to advise on). */
  show(source: AdviceSource | undefined): void {
    this.source = source;
    byId('advice').hidden = !source;
    if (source) this.render();
  }

  private render(): void {
    const source = this.source;
    if (!source) return;
    const { config, dev } = source.settings;
    const reta = config.reta!;
    let maxMoves: number | undefined;
    try {
      showFieldError('advice-moves');
      const t = this.moves.value.trim();
      if (t !== '') {
        if (!/^[0-9]+$/.test(t) || Number(t) > reta.size) invalid('most entries to move', this.moves.value, `a whole number from 0 to ${reta.size}, or empty: as few as reach within 2% of the bound`);
        maxMoves = Number(t);
      }
    } catch (e) {
      if (!(e instanceof RssplaneError)) throw e;
      showFieldError('advice-moves', messageOf(e));
      byId('advice').classList.add('stale');
      return;
    }
    byId('advice').classList.remove('stale');
    const columns = source.engine.u32(RSS_COLUMNS, INPUT_MAX * 8).slice();
    const t0 = performance.now();
    const a = adviseStats([source.stats], { table: reta, queues: reta.queues, metric: this.metric.value as Metric, maxMoves, dev, config, columns });
    const ms = performance.now() - t0;
    this.shown = a;
    const ratio = (x: number) => x.toFixed(3);
    const unit = a.metric === 'flows' ? 'flow directions' : a.metric;
    // The figures as data too, for the tests (they hold them against rssplane advise --json).
    Object.assign(byId('advice').dataset, {
      imbalance: ratio(a.imbalance), boundImbalance: ratio(a.boundImbalance), weightsImbalance: ratio(a.weights.imbalance),
      tableImbalance: ratio(a.table.imbalance), moves: String(a.table.moves), flowsMoved: String(a.table.flowsMoved),
      diagnoses: a.diagnoses.map((d) => d.code).join(' '), ms: ms.toFixed(2),
    });
    byId('advice-summary').textContent =
      `Load (${unit}): imbalance ${ratio(a.imbalance)} (max/mean). No table does better than ${ratio(a.boundImbalance)}: ` +
      `the bound max(total/queues ${thousands(Math.round(a.mean))}, heaviest entry ${a.heaviest.index}: ${thousands(a.heaviest.load)})` +
      (a.heaviest.flows.length ? `; entry ${a.heaviest.index}'s heaviest flow: ${a.heaviest.flows[0]!.src} → ${a.heaviest.flows[0]!.dst} (${a.heaviest.flows[0]!.proto})` : '') +
      `. Advice computed in ${ms.toFixed(1)} ms.`;
    byId('advice-weights').textContent = a.weights.command;
    byId('advice-weights-note').textContent = `imbalance ${ratio(a.weights.imbalance)}: each queue a contiguous run of entries, the exact optimum` +
      (a.weights.imbalance > a.imbalance ? ' (worse than the current table for this traffic)' : '');
    byId('advice-table-note').textContent = a.table.moves
      ? `imbalance ${ratio(a.table.imbalance)}: ${a.table.moves} of ${reta.size} entries moved (${maxMoves === undefined ? 'as few as reach within 2% of the bound' : `at most ${maxMoves}`}), ` +
        `${thousands(a.table.flowsMoved)} flow direction${a.table.flowsMoved === 1 ? '' : 's'} move with them`
      : `the current table is the best ${maxMoves === undefined ? 'there is' : `within ${maxMoves} moves`}`;
    const moved = new Set(a.table.moved.map((m) => m.index));
    drawTable(byId<HTMLCanvasElement>('reta-current'), reta.table, moved, a.queues.length);
    drawTable(byId<HTMLCanvasElement>('reta-proposed'), a.table.table, moved, a.queues.length);
    byId('reta-proposed-caption').textContent = `Proposed (Fix 2): ${a.table.moves} entr${a.table.moves === 1 ? 'y' : 'ies'} moved, marked`;
    const loads = h('table', { class: 'counts' },
      h('thead', {}, h('tr', {}, h('th', {}, 'queue'), h('th', {}, 'now'), h('th', {}, 'Fix 1'), h('th', {}, 'Fix 2'))),
      h('tbody', {}, ...a.queues.map((q, i) => h('tr', {},
        h('td', {}, h('span', { class: 'swatch', style: `background:${colour(i)}` }), `queue ${i}`),
        h('td', { id: `advice-now-${i}` }, thousands(q.load)),
        h('td', { id: `advice-weights-${i}` }, thousands(a.weights.queues[i]!.load)),
        h('td', { id: `advice-table-${i}` }, thousands(a.table.queues[i]!.load))))));
    byId('advice-loads').replaceChildren(loads);
    byId('advice-diagnoses').replaceChildren(...(a.diagnoses.length
      ? a.diagnoses.map((d) => h('li', { 'data-code': d.code }, h('b', {}, d.code), `: ${d.message}. `, h('span', { class: 'fix' }, `Fix: ${d.fix}`)))
      : [h('li', { class: 'none' }, `No diagnosis: no elephant entry (heaviest ${percent(a.heaviest.share)} of the load), a key of full rank, IP traffic, entries spread evenly.`)]));
  }
}

/** Entries per row, as the settings panel draws its table: 32 up to 256 entries, then 64. */
const columnsOf = (size: number) => (size <= 256 ? 32 : 64);

/** A table as a grid of entries coloured by queue; `moved` entries get a dark centre. */
function drawTable(canvas: HTMLCanvasElement, table: ArrayLike<number>, moved: Set<number>, queues: number): void {
  const cols = columnsOf(table.length);
  const cell = 9;
  canvas.width = cols * cell - 1;
  canvas.height = (table.length / cols) * cell - 1;
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (let q = 0; q < queues; q++) {
    ctx.fillStyle = colour(q);
    for (let i = 0; i < table.length; i++) if (table[i] === q) ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - 1, cell - 1);
  }
  ctx.fillStyle = '#1a202c';
  for (const i of moved) ctx.fillRect((i % cols) * cell + 2, Math.floor(i / cols) * cell + 2, cell - 5, cell - 5);
}
