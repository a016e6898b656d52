/**
 * What makes `rssplane run` a live run an operator can watch and stop: `--duration S` (how long
 * a synthetic or DPDK run takes input), Ctrl-C (the input ends, the run reports and flushes what
 * it exports; a second Ctrl-C quits), `--metrics HOST:PORT` (Prometheus /metrics) and the live
 * view (a line a second on a terminal, `--json-stats FILE`). The run command adds the options and
 * opens one LiveSession around runPlan; the session hands the runner `onCores` (where the cores'
 * counters are) and `endInput`.
 */
import type { Command } from 'commander';
import { invalid } from '../../core/errors.js';
import type { ExportStats } from '../metrics/exporters.js';
import type { RunProbe } from '../metrics/probe.js';
import type { MetricsServer } from '../metrics/server.js';
import type { RunMetrics } from '../metrics/registry.js';
import { LiveView } from './stats.js';

export interface LiveFlags {
  duration?: string;
  metrics?: string;
  jsonStats?: string;
}

/** --duration's largest value: Node's timers hold up to 2^31 - 1 ms. */
export const DURATION_MAX = Math.floor(0x7fffffff / 1000);

export function liveOptions(cmd: Command): Command {
  return cmd
    .option('--duration <seconds>', `synthetic, dpdk: take input for this long, then end the run with its summary (at most ${DURATION_MAX}; synthetic traffic then has no set number of conversations)`)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while the run lives (e.g. 127.0.0.1:9464; port 0: any free port)')
    .option('--json-stats <file>', 'append a JSON line of live statistics to FILE every second (packets/s per queue and core, drops, flows)');
}

/** Seconds for --duration: positive, and no more than a timer can wait. */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) invalid('--duration', text, `expected seconds, more than 0 and at most ${DURATION_MAX}`);
  if (v > DURATION_MAX) invalid('--duration', text, `at most ${DURATION_MAX} seconds`);
  return v;
}

export class LiveSession {
  /**
   * Aborted when the input must end: --duration passed, or Ctrl-C. Made only for a run that one of
   * them ends: a capture's run ends with its file, and Node's AbortController costs 1 ms of a start.
   */
  readonly ending: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly interrupt = () => {
    // A second Ctrl-C quits at once, as a user who pressed it twice means.
    if (this.ending!.signal.aborted) process.exit(130);
    this.ending!.abort();
  };

  private constructor(
    readonly view: LiveView,
    readonly metrics: RunMetrics | undefined,
    readonly server: MetricsServer | undefined,
    private readonly seconds: number | undefined,
    interruptible: boolean,
  ) {
    if (interruptible || seconds !== undefined) this.ending = new AbortController();
  }

  /**
   * Checks the flags and opens what they ask for, before the run starts: a metrics address that
   * cannot be listened on, or a stats file that cannot be written, is the user's mistake (exit 2).
   * `terminal`: show the live line (stderr is a terminal, the input is live, progress not turned off).
   */
  static async open(flags: LiveFlags, options: { terminal: boolean; interruptible: boolean }): Promise<LiveSession> {
    const seconds = parseDuration(flags.duration);
    let metrics: RunMetrics | undefined;
    let server: MetricsServer | undefined;
    if (flags.metrics !== undefined) {
      const { parseListen, serveMetrics } = await import('../metrics/server.js');
      const at = parseListen(flags.metrics, '--metrics');
      const { RunMetrics } = await import('../metrics/registry.js');
      metrics = new RunMetrics();
      server = await serveMetrics(metrics, at, '--metrics');
    }
    // The stats file is opened once the server listens, so a bad address leaves no file behind.
    let view: LiveView;
    try {
      view = new LiveView({ terminal: options.terminal, jsonPath: flags.jsonStats });
    } catch (e) {
      await server?.close();
      throw e;
    }
    if (server) process.stderr.write(`rssplane: metrics at ${server.url}\n`);
    const session = new LiveSession(view, metrics, server, seconds, options.interruptible);
    if (options.interruptible) process.on('SIGINT', session.interrupt);
    return session;
  }

  /** For runPlan's options: the cores' counters, once they are set up. */
  readonly onCores = (probe: RunProbe): void => {
    this.metrics?.attach(probe);
    this.view.readings.attach(probe);
    this.view.start();
    if (this.seconds !== undefined) this.timer = setTimeout(() => this.ending!.abort(), this.seconds * 1000);
  };

  /** A flow exporter's counts, for the metrics and the live view. */
  addExporter(stats: ExportStats): void {
    this.metrics?.addExporter(stats);
    this.view.readings.addExporter(stats);
  }

  /** The run is over (or failed): the last reading written, the server closed, Ctrl-C the default again. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    process.off('SIGINT', this.interrupt);
    this.view.stop();
    await this.server?.close();
  }
}
