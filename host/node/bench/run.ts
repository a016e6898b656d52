/**
 * bench run: `rssplane run --input F --cores N` (N = 1 unless asked) end to end against the issue's peers,
 * `tcptrace -l -n F` and `ndpiReader -i F -q` (each of which runs on one core), each a fresh
 * process on the same capture, rounds interleaved (one
 * round runs every tool once) so that a busy machine weighs on all of them alike. The figure is
 * the median of the rounds' wall-clock seconds; a ratio is the median over rounds of the peer's
 * seconds over ours in the same round. Process start is counted for every tool: that is what
 * "faster end to end" means to someone who runs them.
 *
 * One untimed round comes first, so every tool reads the capture from the page cache.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { invalid } from '../../core/errors.js';
import { machine, median, round } from './measure.js';

export interface RunBenchOptions {
  input: string;
  rounds: number;
  /** peer names from PEERS, in the order given */
  peers: string[];
  /** our cores (the peers run on one); default 1, as issue 4's target is per core */
  cores?: number;
}

interface Tool {
  name: string;
  command: string;
  args: string[];
  /** the Debian package that has it, for the error when it is missing */
  package: string;
}

/** The peers, run as it names them. */
export const PEERS: Record<string, (input: string) => Tool> = {
  tcptrace: (input) => ({ name: 'tcptrace', command: 'tcptrace', args: ['-l', '-n', input], package: 'tcptrace' }),
  ndpiReader: (input) => ({ name: 'ndpiReader', command: 'ndpiReader', args: ['-i', input, '-q'], package: 'libndpi-bin' }),
};

/** This very command (the built dist/cli.js), as a user starts it, on `cores` cores. */
function ourselves(input: string, cores: number): Tool {
  // dist/cli.js, the package's bin, as a user starts it (this module is bundled beside it).
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  return { name: 'rssplane', command: process.execPath, args: [cli, 'run', '--input', input, '--cores', String(cores), '--json'], package: 'rssplane' };
}

interface Timing {
  seconds: number;
  /** user + system CPU seconds (Linux: /proc, 10 ms ticks), undefined elsewhere */
  cpu: number | undefined;
  stdout: string;
}

export function benchRun(o: RunBenchOptions) {
  let bytes: number;
  try {
    bytes = statSync(o.input).size;
  } catch {
    return invalid('--input', o.input, 'no such file');
  }
  const tools = [ourselves(o.input, o.cores ?? 1), ...o.peers.map((p) => {
    const make = PEERS[p];
    if (!make) return invalid('--peers', p, `expected names from ${Object.keys(PEERS).join(', ')}`);
    return make(o.input);
  })];
  const runs = new Map(tools.map((t) => [t.name, [] as Timing[]]));
  for (let r = 0; r <= o.rounds; r++) {
    for (const t of tools) {
      const timing = runOnce(t);
      if (r > 0) runs.get(t.name)!.push(timing);
    }
  }
  const ours = runs.get('rssplane')!;
  const summary = JSON.parse(ours[0]!.stdout) as { packets: number; dropped: number; flows: number };
  const seconds = Object.fromEntries(tools.map((t) => [t.name, round(median(runs.get(t.name)!.map((x) => x.seconds)), 3)]));
  const cpu = ours.every((x) => x.cpu !== undefined)
    ? Object.fromEntries(tools.map((t) => [t.name, round(median(runs.get(t.name)!.map((x) => x.cpu!)), 2)]))
    : undefined;
  const ratios = Object.fromEntries(o.peers.map((p) => [p, round(median(runs.get(p)!.map((x, i) => x.seconds / ours[i]!.seconds)), 2)]));
  const fastest = o.peers.length ? o.peers.reduce((a, b) => (seconds[a]! <= seconds[b]! ? a : b)) : undefined;
  return {
    bench: 'run',
    input: o.input,
    cores: o.cores ?? 1,
    bytes,
    packets: summary.packets,
    flows: summary.flows,
    pps: Math.round(summary.packets / seconds.rssplane!),
    seconds,
    ...(cpu ? { cpu_seconds: cpu } : {}),
    /** peer seconds / rssplane seconds, median over rounds: above 1 means rssplane is faster */
    speedup: ratios,
    ...(fastest ? { fastest_peer: fastest, speedup_vs_fastest: ratios[fastest], target: 3, target_met: ratios[fastest]! >= 3 } : {}),
    rounds: o.rounds,
    rounds_seconds: Object.fromEntries(tools.map((t) => [t.name, runs.get(t.name)!.map((x) => round(x.seconds, 3))])),
    machine: machine(),
  };
}

function runOnce(t: Tool): Timing {
  const before = childCpu();
  const t0 = performance.now();
  // Only our summary is read: a peer's output (tcptrace -l prints pages a connection) is dropped.
  const ours = t.name === 'rssplane';
  const r = spawnSync(t.command, t.args, { encoding: 'utf8', stdio: ['ignore', ours ? 'pipe' : 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  const after = childCpu();
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return invalid('--peers', t.name, missing ? `${t.command} is not installed (Debian package ${t.package})` : r.error.message);
  }
  if (r.status !== 0) invalid('--peers', t.name, `exited with status ${r.status}: ${(r.stderr || '').trim().split('\n')[0] ?? ''}`);
  return { seconds, cpu: before !== undefined && after !== undefined ? after - before : undefined, stdout: r.stdout ?? "" };
}

/** CPU seconds of this process's waited-for children (Linux /proc/self/stat cutime + cstime). */
function childCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after the command name: state is field 3 of the man page, cutime 16 and cstime 17
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}
