/**
 * The live view of a run: once a second, the cores' counters (read from their engine memory,
 * metrics/probe.ts) become one stats object: packets/s per queue and per core over the last
 * interval, drops, active flows, imbalance. On a terminal it is one line on stderr, rewritten in
 * place; with `--json-stats FILE` each is appended to FILE as a JSON line, for scripts.
 */
import { closeSync, openSync } from 'node:fs';
import { invalid } from '../../core/errors.js';
import { grouped } from '../../core/format.js';
import type { ExportStats } from '../metrics/exporters.js';
import { DROP_REASON_NAMES, snapshot, type CoreSnapshot, type RunProbe } from '../metrics/probe.js';
import { writeAll } from '../io.js';
import { clock } from '../runner/ring.js';

/** One interval of a run, as `--json-stats` writes it (one JSON object a line). */
export interface LiveStats {
  /** wall-clock time of the reading, ISO 8601 */
  time: string;
  /** seconds since the run's cores were set up */
  seconds: number;
  /** seconds this interval covers */
  interval: number;
  /** packets received so far (received = processed + dropped), and their captured bytes */
  packets: number;
  bytes: number;
  /** packets/s and bits/s over the interval */
  pps: number;
  bps: number;
  queues: Array<{ queue: number; packets: number; bytes: number; pps: number }>;
  cores: Array<{ core: number; received: number; processed: number; dropped: number; pps: number; ring_used: number; ring_slots: number }>;
  dropped: number;
  /** drops so far by reason (only reasons that occurred) */
  drops: Record<string, number>;
  active_flows: number;
  flows_created: number;
  /** max/mean of the interval's packets per queue, and per core (0 when nothing came) */
  imbalance: number;
  core_imbalance: number;
  /** flow exporters' records so far */
  export?: Array<{ exporter: string; sent: number; dropped: number }>;
  /** the run's last line: written once the input has ended */
  end?: true;
}

function imbalance(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  return mean ? Number((Math.max(...xs) / mean).toFixed(3)) : 0;
}

/** Takes readings of a run and computes each interval's rates from the one before. */
export class LiveReadings {
  private probe: RunProbe | undefined;
  private last: { at: number; cores: CoreSnapshot[] } | undefined;
  private started = clock();
  private readonly exporters: ExportStats[] = [];

  attach(probe: RunProbe): void {
    this.probe = probe;
    // The run's clock starts once its cores are set up, as its summary's does.
    this.started = clock();
    this.last = { at: this.started, cores: snapshot(probe) };
  }

  addExporter(stats: ExportStats): void {
    this.exporters.push(stats);
  }

  get attached(): boolean {
    return this.probe !== undefined;
  }

  /** The interval since the last reading (undefined before the cores are set up). */
  read(end = false): LiveStats | undefined {
    if (!this.probe || !this.last) return undefined;
    const at = clock();
    const cores = snapshot(this.probe);
    const before = this.last.cores;
    const seconds = Math.max((at - this.last.at) / 1000, 1e-3);
    this.last = { at, cores };
    const rate = (n: number) => Math.round(n / seconds);
    const queues = Array.from({ length: this.probe.queues }, (_, q) => {
      const now = cores.reduce((n, c) => n + (c.queues[q] ?? 0), 0);
      const then = before.reduce((n, c) => n + (c.queues[q] ?? 0), 0);
      return { queue: q, packets: now, bytes: cores.reduce((n, c) => n + (c.queueBytes[q] ?? 0), 0), delta: now - then };
    });
    const perCore = cores.map((c, i) => ({ c, delta: c.received - (before[i]?.received ?? 0) }));
    const sum = (f: (c: CoreSnapshot) => number, of = cores) => of.reduce((n, c) => n + f(c), 0);
    const drops: Record<string, number> = {};
    DROP_REASON_NAMES.forEach((name, r) => {
      const n = sum((c) => c.drops[r] ?? 0);
      if (n) drops[name] = n;
    });
    const packets = sum((c) => c.received);
    const bytes = sum((c) => c.bytes);
    const stats: LiveStats = {
      time: new Date().toISOString(),
      seconds: Number(((at - this.started) / 1000).toFixed(3)),
      interval: Number(seconds.toFixed(3)),
      packets, bytes,
      pps: rate(packets - sum((c) => c.received, before)),
      bps: rate(8 * (bytes - sum((c) => c.bytes, before))),
      queues: queues.map((q) => ({ queue: q.queue, packets: q.packets, bytes: q.bytes, pps: rate(q.delta) })),
      cores: perCore.map(({ c, delta }) => ({
        core: c.core, received: c.received, processed: c.processed, dropped: c.dropped, pps: rate(delta), ring_used: c.ring.used, ring_slots: c.ring.slots,
      })),
      dropped: sum((c) => c.dropped),
      drops,
      active_flows: sum((c) => c.flows.active),
      flows_created: sum((c) => c.flows.created),
      imbalance: imbalance(queues.map((q) => q.delta)),
      core_imbalance: imbalance(perCore.map((c) => c.delta)),
    };
    if (this.exporters.length) stats.export = this.exporters.map((e) => ({ exporter: e.exporter, sent: e.sent(), dropped: e.dropped() }));
    if (end) stats.end = true;
    return stats;
  }
}

/** A rate in a few characters: 950, 12.3 k, 4.56 M. */
function short(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)} k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} M`;
}

/** The terminal's line: the whole run's rate, then per queue and per core (the first 16 of each). */
export function liveLine(s: LiveStats): string {
  const list = (xs: number[]) => xs.slice(0, 16).map(short).join(' ') + (xs.length > 16 ? ` +${xs.length - 16}` : '');
  const parts = [
    `${s.seconds.toFixed(0)} s: ${short(s.pps)} packets/s`,
    `queues ${list(s.queues.map((q) => q.pps))}`,
  ];
  if (s.cores.length > 1) parts.push(`cores ${list(s.cores.map((c) => c.pps))}`);
  parts.push(`drops ${grouped(s.dropped)}`, `flows ${grouped(s.active_flows)}`, `imbalance ${s.imbalance.toFixed(2)}`);
  if (s.export) parts.push(`export ${grouped(s.export.reduce((n, e) => n + e.sent, 0))} sent, ${grouped(s.export.reduce((n, e) => n + e.dropped, 0))} dropped`);
  return parts.join(', ');
}

/** Most characters of a --json-stats path we accept (a path, not a document). */
export const JSON_STATS_PATH_MAX = 4096;

/**
 * The live view's outputs: every second a reading, to the terminal line (when stderr is one) and
 * to the JSON lines file; `stop` writes the run's last reading and clears the line.
 */
export class LiveView {
  readonly readings = new LiveReadings();
  private timer: NodeJS.Timeout | undefined;
  private fd: number | undefined;
  private shown = false;

  /** `jsonPath`: the file to append to (opened now: a path we cannot write is the user's mistake). */
  constructor(private readonly options: { terminal: boolean; jsonPath?: string; option?: string; intervalMs?: number }) {
    const path = options.jsonPath;
    if (path !== undefined) {
      const name = options.option ?? '--json-stats';
      if (path === '') invalid(name, path, 'expected a file name');
      if (path.length > JSON_STATS_PATH_MAX) invalid(name, `${path.slice(0, 40)}...`, `a path of at most ${JSON_STATS_PATH_MAX} characters`);
      try {
        this.fd = openSync(path, 'a');
      } catch (e) {
        invalid(name, path, `cannot append to it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
  }

  get wanted(): boolean {
    return this.options.terminal || this.fd !== undefined;
  }

  start(): void {
    if (!this.wanted) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 1000);
  }

  private tick(end = false): void {
    const s = this.readings.read(end);
    if (!s) return;
    if (this.fd !== undefined) writeAll(this.fd, `${JSON.stringify(s)}\n`);
    if (this.options.terminal && !end) {
      const width = process.stderr.columns || 120;
      process.stderr.write(`\r\x1b[K${liveLine(s).slice(0, width - 1)}`);
      this.shown = true;
    }
  }

  /** The run is over: its last reading, the terminal line cleared, the file closed. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.wanted) this.tick(true);
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
