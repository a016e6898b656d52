/**
 * rssplane advise: why one queue is hot, and the table that fixes it. The traffic goes through the
 * same per-core runner as `rssplane run` (runPlan), which counts the load of every table entry in
 * WASM; the advice (host/core/advise.ts) is the library call the visualizer makes too.
 */
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { statSync } from 'node:fs';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { QUEUES_MAX } from '../../../assembly/shared/abi.js';
import { adviseStats, METRICS, type Advice, type Metric } from '../../core/advise.js';
import { availableKernel, Engine } from '../../core/engine.js';
import { invalid, RssplaneError } from '../../core/errors.js';
import { formatEthtool, parseEthtool } from '../../core/ethtool.js';
import { presetName } from '../../core/key.js';
import { DEFAULT_RETA_SIZE, Reta } from '../../core/reta.js';
import { RssHasher } from '../../core/rss.js';
import { json, out, readInput, stderrIsTerminal } from '../io.js';
import { explicitIn, rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';
import { rssValues, type RunPlan, type SourcePlan } from '../runner/plan.js';
import { DEFAULT_RING } from '../runner/ring.js';
import { runPlan, RunFailure, type Progress } from '../runner/runner.js';

interface AdviseFlags extends RssFlags {
  input: string;
  cores?: string;
  conversations: string;
  concurrent: string;
  seed: string;
  ipv6: string;
  retransmit: string;
  queues?: string;
  metric: Metric;
  maxMoves?: string;
  dev?: string;
  out?: string;
  flowTable: string;
  idleTimeout: string;
  json?: boolean;
  progress: boolean;
}

function share(text: string, subject: string): number {
  const v = Number(text);
  if (!(v >= 0 && v <= 1)) invalid(subject, text, 'a share from 0 to 1');
  return v;
}

export function adviseCommand(): Command {
  const cmd = new Command('advise')
    .summary('why one queue is hot, and the indirection table that fixes it')
    .description(
      'Runs the traffic (a capture, or synthetic by default) through the data\n' +
        'plane as `run` does, counting the load of every indirection-table entry,\n' +
        'then says:\n' +
        '- the load per queue, its imbalance (max/mean), and the bound no table\n' +
        '  beats, max(total / queues, the heaviest entry), with the flows that\n' +
        '  make that entry heavy;\n' +
        '- Fix 1, stock ethtool: the weights for `ethtool -X DEV weight W0 W1 ...`\n' +
        '  (a contiguous run of entries per queue, in queue order) that minimise\n' +
        '  the heaviest queue: the exact optimum;\n' +
        '- Fix 2, any table (DPDK, `run --reta-file`): at most --max-moves entries\n' +
        '  moved (default: as few as come within 2% of the bound), the flows whose\n' +
        '  state must follow them, the imbalance it leaves; --out FILE writes it\n' +
        '  as `ethtool -x` prints a table;\n' +
        '- diagnoses with evidence and fix: an elephant entry (no table fixes it),\n' +
        '  ports left out of the hash, a key of low rank, a symmetric key with a\n' +
        '  symmetric transform, traffic not IP or fragmented, more queues than\n' +
        '  the table spreads evenly.\n\n' +
        'The table: --reta-file (pasted `ethtool -x`, with its key and ring count),\n' +
        `--reta/--reta-size, or equal over --queues (default: the cores; ${DEFAULT_RETA_SIZE} entries).`,
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--input <source>', 'a capture file (pcap or pcapng; - for stdin) or "synthetic"', 'synthetic')
    .option('--queues <n>', 'receive queues to spread over (default: those the table names, or --reta-file\'s ring count)')
    .addOption(new Option('--metric <what>', 'what load means').choices([...METRICS]).default('packets'))
    .option('--max-moves <k>', 'Fix 2: most table entries to move (default: as few as reach within 2% of the bound)')
    .option('--dev <name>', 'device in the printed commands (default: --reta-file\'s, else eth0)')
    .option('--out <file>', 'write Fix 2\'s table as `ethtool -x` prints it (for run --reta-file, reta --parse)')
    .option('--cores <n>', `worker threads to run the traffic on (default: all ${availableParallelism()}); the advice does not depend on it`)
    .option('--conversations <n>', 'synthetic: TCP conversations in all', '20000')
    .option('--concurrent <n>', 'synthetic: conversations in progress at once', '10000')
    .option('--seed <n>', 'synthetic: the seed (same seed, same traffic)', '1')
    .option('--ipv6 <share>', 'synthetic: share of IPv6 conversations', '0.2')
    .option('--retransmit <share>', 'synthetic: share of data segments sent twice', '0.01')
    .option('--flow-table <n>', 'flow table capacity per core', String(1 << 20))
    .option('--idle-timeout <seconds>', 'a flow with no packet for this long (packet time) ends', '300')
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal)')
    .option('--json', 'print the advice as JSON')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane advise --input trace.pcap --reta-file ethtool-x.txt\n' +
      '  rssplane advise --input trace.pcap --reta equal:8 --metric bytes --max-moves 4 --out fixed.txt\n' +
      '  rssplane run --input trace.pcap --reta-file fixed.txt        # the proposed table, applied\n' +
      '  rssplane advise --key mtcp --queues 16 --json')
    .action(async (flags: AdviseFlags) => {
      const cores = wholeNumber(flags.cores, '--cores', availableParallelism());
      if (cores > 256) invalid('--cores', flags.cores, 'at most 256');
      const explicit = explicitIn(cmd);
      const queuesGiven = flags.queues === undefined ? undefined : wholeNumber(flags.queues, '--queues', 1);
      if (queuesGiven !== undefined && queuesGiven > QUEUES_MAX) invalid('--queues', flags.queues, `at most ${QUEUES_MAX}`);
      // The device: a --reta-file brings its table, key, functions, name and ring count.
      let device: ReturnType<typeof parseEthtool> | undefined;
      let config;
      if (flags.retaFile !== undefined) {
        if (flags.reta !== undefined) invalid('--reta', flags.reta, 'give --reta or --reta-file, not both');
        if (flags.retaSize !== undefined) invalid('--reta-size', flags.retaSize, 'the table size comes from --reta-file');
        device = parseEthtool(readInput(flags.retaFile, '--reta-file').toString('utf8'), '--reta-file');
        if (device.hfunc === 'crc32' && !explicit('hfunc')) invalid('--reta-file', flags.retaFile, 'the device hashes with crc32, which rssplane does not model');
        config = rssConfig({ ...flags, retaFile: undefined }, explicit).with({
          reta: new Reta(device.table),
          ...(device.key && !explicit('key') ? { key: device.key } : {}),
          ...(device.hfunc && device.hfunc !== 'crc32' && !explicit('hfunc') ? { hfunc: device.hfunc } : {}),
          ...(device.xfrm && !explicit('xfrm') ? { xfrm: device.xfrm } : {}),
        });
      } else {
        const table = flags.reta === undefined
          ? { ...flags, reta: `equal:${queuesGiven ?? cores}`, retaSize: flags.retaSize ?? String(DEFAULT_RETA_SIZE) } : flags;
        config = rssConfig(table, explicit);
      }
      const reta = config.reta!;
      const queues = queuesGiven ?? Math.max(reta.queues, device?.rings ?? 0);
      if (queues < reta.queues) invalid('--queues', flags.queues, `the table names queue ${reta.queues - 1}`);
      const maxMoves = flags.maxMoves === undefined ? undefined : wholeNumber(flags.maxMoves, '--max-moves', 0, 0);
      if (maxMoves !== undefined && maxMoves > reta.size) invalid('--max-moves', flags.maxMoves, `at most the table's ${reta.size} entries`);
      const dev = flags.dev ?? device?.dev ?? 'eth0';
      const idle = Number(flags.idleTimeout);
      if (!(idle > 0)) invalid('--idle-timeout', flags.idleTimeout, 'expected seconds > 0');
      let source: SourcePlan;
      if (flags.input === 'synthetic') {
        source = {
          kind: 'synthetic', conversations: wholeNumber(flags.conversations, '--conversations', 20000),
          concurrent: wholeNumber(flags.concurrent, '--concurrent', 10000), seed: wholeNumber(flags.seed, '--seed', 1, 0),
          ipv6: share(flags.ipv6, '--ipv6'), retransmit: share(flags.retransmit, '--retransmit'),
        };
      } else if (flags.input === 'dpdk') {
        invalid('--input', flags.input, 'advise takes a capture or synthetic traffic (capture the port with dpdk-dumpcap, then advise on the file)');
      } else {
        if (flags.input !== '-') {
          try {
            if (!statSync(flags.input).isFile()) invalid('--input', flags.input, 'not a file');
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') invalid('--input', flags.input, 'no such file (or give "synthetic")');
            throw e;
          }
        }
        source = { kind: 'capture', path: flags.input };
      }
      const plan: RunPlan = {
        cores, kernel: availableKernel(), rss: rssValues(config),
        queueCores: Array.from({ length: reta.queues }, (_, q) => q % cores),
        flows: { capacity: wholeNumber(flags.flowTable, '--flow-table', 1 << 20), idleTimeout: idle, checksums: 'verify' },
        source, ring: DEFAULT_RING, records: false,
      };
      const bar = flags.progress && stderrIsTerminal() ? progressBar(source) : undefined;
      let result;
      try {
        result = await runPlan(plan, { onProgress: bar?.update });
      } catch (e) {
        bar?.stop();
        if (e instanceof RunFailure && !e.user) {
          process.stderr.write(`rssplane: ${e.message}\n`);
          process.exit(1);
        }
        throw e;
      }
      bar?.stop();
      for (const w of result.warnings) process.stderr.write(`rssplane: warning: ${w}\n`);
      // The hash's columns for the key's diagnoses, from an engine of the module the run compiled
      // (a one-core run's engine is a private-memory one: runPlan runs it inline).
      const t0 = performance.now();
      const hasher = await RssHasher.create(config, await Engine.create({ kernel: plan.kernel, shared: plan.cores > 1 }));
      const advice = adviseStats(result.stats, { table: reta, queues, metric: flags.metric, maxMoves, dev, config, columns: hasher.columns() });
      const adviceMs = performance.now() - t0;
      if (flags.out !== undefined) {
        const text = formatEthtool({ dev, rings: queues, table: advice.table.table, key: config.key, hfunc: config.hfunc, xfrm: config.xfrm });
        try {
          writeFileSync(flags.out, text);
        } catch (e) {
          throw new RssplaneError('ENOENT', `cannot write --out "${flags.out}": ${(e as Error).message}`, '--out');
        }
      }
      const what = source.kind === 'synthetic' ? `synthetic (${source.conversations.toLocaleString('en-US')} conversations, seed ${source.seed})` : source.path;
      const r = result.report;
      if (flags.json) {
        json({
          ...adviceJson(advice), input: flags.input, packets: r.packets, processed: r.processed, dropped: r.dropped,
          reta_size: reta.size, key: presetName(config.key) ?? 'custom', fields: config.fields, hfunc: config.hfunc, xfrm: config.xfrm, dev,
          seconds: r.seconds, advice_ms: round(adviceMs, 1),
          ...(flags.out !== undefined ? { out: flags.out } : {}),
        });
      } else {
        printAdvice(advice, {
          what: `${what}: ${r.packets.toLocaleString('en-US')} packets through a ${reta.size}-entry table over ${queues} queue${queues > 1 ? 's' : ''} ` +
            `(${config.hfunc}, ${config.fields}, ${presetName(config.key) ?? 'custom key'}${config.xfrm !== 'none' ? `, ${config.xfrm}` : ''})`,
          out: flags.out,
        });
      }
    });
  return cmd;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/** The `--json` shape (MISSION.md: queues, imbalance, bound_imbalance, weights, table, diagnoses), and more. */
export function adviceJson(a: Advice) {
  return {
    metric: a.metric,
    queues: a.queues,
    imbalance: round(a.imbalance),
    bound_imbalance: round(a.boundImbalance),
    total: a.total,
    mean: round(a.mean, 3),
    bound: a.bound,
    unhashed: a.unhashed,
    heaviest: {
      index: a.heaviest.index, load: a.heaviest.load, share: round(a.heaviest.share),
      flows: a.heaviest.flows, flows_share: round(a.heaviest.flowsShare),
    },
    weights: {
      weights: a.weights.weights, command: a.weights.command, imbalance: round(a.weights.imbalance),
      max: a.weights.max, queues: a.weights.queues,
    },
    table: {
      table: Array.from(a.table.table), moves: a.table.moves, flows_moved: a.table.flowsMoved, imbalance: round(a.table.imbalance),
      max: a.table.max, queues: a.table.queues, moved: a.table.moved,
      ...(a.table.maxMoves !== undefined ? { max_moves: a.table.maxMoves } : {}),
      ...(a.table.target !== undefined ? { target: round(a.table.target, 3) } : {}),
    },
    diagnoses: a.diagnoses,
  };
}

/** The human advice: the load, the bound, both fixes with their commands, the diagnoses. */
function printAdvice(a: Advice, o: { what: string; out?: string }): void {
  const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: x < 100 ? 1 : 0 });
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const r3 = (x: number) => x.toFixed(3);
  out(o.what);
  out(`load = ${a.metric === 'flows' ? 'flow directions' : a.metric}; ${n(a.total)} in all${a.unhashed ? `, ${n(a.unhashed)} of it not IP (queue 0, no table entry)` : ''}`);
  out();
  const widest = Math.max(1, ...a.queues.map((q) => q.load));
  const rows = (loads: readonly { queue: number; load: number }[]) => loads.map((q) =>
    `${String(q.queue).padStart(5)} ${n(q.load).padStart(14)}  ${a.total ? pct(q.load / a.total) : '    -'}  ${'#'.repeat(Math.round((q.load / widest) * 30))}`);
  out('queue           load   share');
  if (a.queues.length <= 64) for (const line of rows(a.queues)) out(line);
  else out(`  (${a.queues.length} queues: --json lists them)`);
  out(`imbalance (max/mean) ${r3(a.imbalance)}; no table does better than ${r3(a.boundImbalance)}: ` +
    `the bound max(total/queues ${n(a.mean)}, heaviest entry ${n(a.heaviest.load)}${a.unhashed > a.mean ? `, not IP ${n(a.unhashed)}` : ''})`);
  if (a.heaviest.load) {
    out(`  heaviest entry ${a.heaviest.index}: ${pct(a.heaviest.share).trim()} of the load` +
      (a.heaviest.flows.length ? `; its heaviest flows carry ${pct(a.heaviest.flowsShare).trim()} of it:` : ''));
    for (const f of a.heaviest.flows) out(`    ${f.src} -> ${f.dst} ${f.proto}  ${n(f.packets)} packets, ${n(f.bytes)} bytes${f.flows > 1 ? ` (${f.flows} flows of this tuple)` : ''}`);
  }
  out();
  const w = a.weights;
  out(`Fix 1, stock ethtool (each queue a contiguous run of entries, in queue order; the exact optimum): imbalance ${r3(w.imbalance)}`);
  out(`  ${w.command}`);
  out(`  queue loads then: ${w.queues.map((q) => n(q.load)).join(' ')}`);
  if (w.imbalance > a.imbalance) out('  (worse than the current table: contiguous runs cannot do better for this traffic; see Fix 2)');
  out();
  const t = a.table;
  if (t.moves === 0) {
    out(`Fix 2, any table: the current table is the best ${t.maxMoves !== undefined ? `within ${t.maxMoves} moves` : 'there is'}${a.imbalance <= a.boundImbalance * 1.02 ? ' (within 2% of the bound)' : ''}`);
  } else {
    out(`Fix 2, any table (${t.moves} of ${t.table.length} entries moved${t.maxMoves !== undefined ? `, at most ${t.maxMoves}` : ', as few as reach within 2% of the bound'}; ` +
      `${n(t.flowsMoved)} flow direction${t.flowsMoved === 1 ? '' : 's'} move with them, their state must follow): imbalance ${r3(t.imbalance)}`);
    const list = t.moved.slice(0, 12).map((m) => `${m.index}: ${m.from}->${m.to}`).join(', ');
    out(`  entries moved: ${list}${t.moved.length > 12 ? `, ... (${t.moved.length} in all)` : ''}`);
    out(`  queue loads then: ${t.queues.map((q) => n(q.load)).join(' ')}`);
    out(o.out !== undefined
      ? `  written to ${o.out} as \`ethtool -x\` prints it: rssplane run --reta-file ${o.out}; DPDK: rte_eth_dev_rss_reta_update with it`
      : '  --out FILE writes it as `ethtool -x` prints it (for run --reta-file, reta --parse, DPDK\'s rte_eth_dev_rss_reta_update)');
  }
  out();
  if (!a.diagnoses.length) {
    out('Diagnoses: none (no elephant, ports hashed, key of full rank, IP traffic, entries spread evenly)');
    return;
  }
  out('Diagnoses:');
  for (const d of a.diagnoses) {
    out(`  ${d.code}: ${d.message}`);
    out(`    fix: ${d.fix}`);
  }
}

/** A progress bar on stderr: capture bytes read, or conversations started. */
function progressBar(source: SourcePlan): { update: (p: Progress) => void; stop: () => void } {
  const capture = source.kind === 'capture' && source.path !== '-';
  const total = capture ? statSync(source.path).size : source.kind === 'synthetic' ? source.conversations : 0;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr, format: capture ? '{bar} {percentage}% | {packets} packets' : '{bar} {percentage}% | {packets} packets | {value}/{total} conversations',
    hideCursor: true, clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total || 1, 0, { packets: 0 });
  return {
    update: (p) => bar.update(capture ? p.inputBytes : p.conversations, { packets: p.packets.toLocaleString('en-US') }),
    stop: () => bar.stop(),
  };
}
