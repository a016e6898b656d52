/**
 * Port pools: for a peer and a core count, which local ports each core must use so that the
 * return packets land on a queue it serves (mTCP's mtcp_init_rss, from the real key and table).
 * The map shows all 65,536 ports at once, one pixel each.
 */
import { parseAddress, parsePort } from '../core/addr.js';
import type { Engine } from '../core/engine.js';
import { invalid, RssplaneError } from '../core/errors.js';
import { PortPool } from '../core/pool.js';
import { byId, colour, colourBytes, h, messageOf, percent, showFieldError, thousands } from './dom.js';
import type { Settings } from './settings.js';
import { whole } from './settings.js';

/** Which field each PortPool.create subject is shown beside. */
const FIELD_OF: Record<string, string> = {
  'source address': 'pool-src', 'destination address': 'pool-dst', 'destination port': 'pool-dport',
  'cores': 'pool-cores', 'port range': 'pool-ports', 'queue -> core map': 'pool-cores',
};

export class PoolsView {
  private pool: PortPool | undefined;
  private map: Uint16Array | undefined;
  private readonly canvas = byId<HTMLCanvasElement>('pool-map');

  /** `useEqual(n)` sets the shared table to `equal n`. */
  constructor(private readonly engine: Engine, onChange: () => void, private readonly useEqual: (queues: number) => void) {
    for (const id of ['pool-src', 'pool-dst', 'pool-dport', 'pool-cores', 'pool-ports']) byId(id).addEventListener('input', onChange);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
  }

  async render(settings: Settings): Promise<void> {
    for (const id of [...Object.values(FIELD_OF), 'pool']) showFieldError(id);
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    let pool: PortPool;
    try {
      const src = parseAddress(value('pool-src'), 'source address');
      // The hash covers the ports: the l4 field set of the local address's family, as `rssplane ports` does.
      const fields = src.family === 6 ? 'ipv6-l4' : 'ipv4-l4';
      const range = /^\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*$/.exec(value('pool-ports'));
      if (!range) invalid('port range', value('pool-ports'), 'expected LO-HI, as 1025-65535');
      const cores = whole(value('pool-cores'), 'cores');
      const config = settings.config.with({ fields });
      this.pool?.destroy();
      this.pool = undefined;
      pool = await PortPool.create(config, {
        src: src.bytes, dst: value('pool-dst'), dport: parsePort(value('pool-dport'), 'destination port'), cores,
        ports: [Number(range[1]), Number(range[2])],
      }, this.engine);
    } catch (e) {
      if (!(e instanceof RssplaneError)) throw e;
      const id = FIELD_OF[e.subject ?? ''] ?? 'pool';
      byId('view-pools').classList.add('stale');
      showFieldError(id, e.subject === 'key' ? `${messageOf(e)} (the pools hash the ${value('pool-src').includes(':') ? 'ipv6-l4' : 'ipv4-l4'} return tuple)` : messageOf(e));
      return;
    }
    this.pool = pool;
    byId('view-pools').classList.remove('stale');
    this.map = pool.coreMap();
    this.draw(pool, this.map);
    this.count(pool);
  }

  private draw(pool: PortPool, map: Uint16Array): void {
    const ctx = this.canvas.getContext('2d')!;
    const image = ctx.createImageData(256, 256);
    const px = image.data;
    const colours = Array.from({ length: pool.cores }, (_, c) => colourBytes(c));
    const [lo, hi] = pool.range;
    for (let p = 0; p < 65536; p++) {
      const [r, g, b] = p >= lo && p <= hi ? colours[map[p - lo]!]! : [226, 230, 235];
      px[p * 4] = r;
      px[p * 4 + 1] = g;
      px[p * 4 + 2] = b;
      px[p * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  private count(pool: PortPool): void {
    const total = pool.range[1] - pool.range[0] + 1;
    const sizes = Array.from({ length: pool.cores }, (_, c) => pool.core(c).size);
    const max = Math.max(...sizes);
    const reta = pool.config.reta!;
    const queuesOf = (c: number) => Array.from(pool.queueCore.entries()).filter(([, core]) => core === c).map(([q]) => q);
    byId('pool-counts').replaceChildren(
      h('thead', {}, h('tr', {}, h('th', {}, 'core'), h('th', {}, 'queues'), h('th', {}, 'ports'), h('th', {}, 'share'), h('th', { class: 'share' }, ''))),
      h('tbody', {}, ...sizes.map((n, c) => h('tr', {},
        h('td', {}, h('span', { class: 'swatch', style: `background:${colour(c)}` }), `core ${c}`),
        h('td', {}, queuesOf(c).join(' ') || '–'),
        h('td', { id: `pool-count-${c}` }, thousands(n)),
        h('td', {}, percent(n / total)),
        h('td', { class: 'share' }, h('div', { class: 'sharebar' }, h('div', { style: `width:${max ? (n / max) * 100 : 0}%;background:${colour(c)}` })))))));
    const rank = pool.portRank;
    const bits = Math.log2(reta.size);
    const mean = total / pool.cores;
    const notes = [`min ${thousands(Math.min(...sizes))}, max ${thousands(max)}: max/mean ${(max / mean).toFixed(3)}.`];
    notes.push(rank < bits
      ? `From one address the port reaches only ${2 ** rank} of the ${reta.size} table entries (rank ${rank} of ${bits}): a low-rank key leaves entries, maybe whole queues, that no port can reach.`
      : `The port bits reach every one of the ${reta.size} table entries (rank ${rank}), ${thousands(65536 / 2 ** rank)} of the 65,536 ports each.`);
    const idle = sizes.flatMap((n, c) => (n === 0 ? [c] : []));
    if (idle.length) notes.push(`${idle.length === 1 ? 'Core' : 'Cores'} ${idle.join(', ')} ${idle.length === 1 ? 'gets' : 'get'} no port at all.`);
    const note = byId('pool-note');
    note.textContent = notes.join(' ');
    if (reta.queues !== pool.cores) {
      const button = h('button', { type: 'button', class: 'ghost small' }, `Use equal ${pool.cores} (one queue per core)`);
      button.addEventListener('click', () => this.useEqual(pool.cores));
      note.append(` The table names ${reta.queues} queue${reta.queues > 1 ? 's' : ''} for ${pool.cores} cores. `, button);
    }
  }

  private hover(e: MouseEvent): void {
    const pool = this.pool, map = this.map;
    if (!pool || !map) return;
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * 256);
    const y = Math.floor(((e.clientY - r.top) / r.height) * 256);
    if (x < 0 || x > 255 || y < 0 || y > 255) return;
    const port = y * 256 + x;
    const [lo, hi] = pool.range;
    byId('pool-hover').textContent = port < lo || port > hi
      ? `port ${port}: outside ${lo}-${hi}`
      : `port ${port}: core ${map[port - lo]}, its return tuple lands on queue ${pool.queueOf(0, port)}`;
  }
}
