/**
 * rssplane bench NAME: speed figures as JSON, medians of several rounds.
 */
import { Command, Option } from 'commander';
import type { Kernel } from '../../core/engine.js';
import { benchPorts } from '../bench/ports.js';
import { benchToeplitz } from '../bench/toeplitz.js';
import { json, out } from '../io.js';
import { wholeNumber } from '../options.js';

export function benchCommand(): Command {
  const bench = new Command('bench')
    .summary('measure speed (JSON figures, medians of several rounds)')
    .description('Benchmarks print one JSON object with --json. Compare figures measured in the same run:\nthese machines are shared and noisy.');

  bench
    .command('toeplitz')
    .description('Hash random ipv4-l4 tuples already in WASM memory in one batch call, one core.')
    .option('--tuples <n>', 'tuples per round', '4000000')
    .option('--rounds <n>', 'timed rounds (the figure is their median)', '7')
    .addOption(new Option('--kernel <kernel>', 'force a kernel (default: the best this runtime validates)').choices(['simd', 'relaxed-simd']))
    .option('--anchor <binary>', 'also run the native anchor (toeplitz_native) between rounds and report ratios')
    .option('--json', 'print JSON')
    .action(async (flags: { tuples: string; rounds: string; kernel?: Kernel; anchor?: string; json?: boolean }) => {
      const result = await benchToeplitz({
        tuples: wholeNumber(flags.tuples, '--tuples', 4_000_000, 16),
        rounds: wholeNumber(flags.rounds, '--rounds', 7),
        kernel: flags.kernel,
        anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`toeplitz  ${result.mhash_per_s} Mhash/s (${result.kernel}, median of ${flags.rounds}), scalar path ${result.scalar_mhash_per_s} Mhash/s`);
      if (result.anchor_mhash_per_s) out(`native    ${JSON.stringify(result.anchor_mhash_per_s)}\nratio     ${JSON.stringify(result.ratio_vs_anchor)}`);
    });

  bench
    .command('ports')
    .description(
      'Build the RSS-aligned port pools of 16 cores (one local address, ports 1025-65535, Microsoft\n' +
        'key, equal:16 over 128 entries), and run alloc + free pairs on one core in one WASM call.\n' +
        'With --anchor, the native peer (test/native/ports_mtcp.c: mTCP\'s method, a Toeplitz per\n' +
        'port and a mutex-guarded free list) runs between rounds, and its per-core counts must match.')
    .option('--rounds <n>', 'timed rounds (the figures are their medians)', '21')
    .option('--pairs <n>', 'alloc + free pairs per round', '10000000')
    .option('--window <n>', 'ports held while pairs run (a power of two)', '1024')
    .addOption(new Option('--kernel <kernel>', 'force a kernel (default: the best this runtime validates)').choices(['simd', 'relaxed-simd']))
    .option('--anchor <binary>', 'also run the native peer, built from test/native/ports_mtcp.c, and report ratios')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rssplane bench ports --json\n' +
      '  cc -O3 test/native/ports_mtcp.c $(pkg-config --cflags --libs libdpdk) -lpthread -o /tmp/ports_mtcp\n' +
      '  rssplane bench ports --anchor /tmp/ports_mtcp --json')
    .action(async (flags: { rounds: string; pairs: string; window: string; kernel?: Kernel; anchor?: string; json?: boolean }) => {
      const result = await benchPorts({
        rounds: wholeNumber(flags.rounds, '--rounds', 21),
        pairs: wholeNumber(flags.pairs, '--pairs', 10_000_000),
        window: wholeNumber(flags.window, '--window', 1024),
        kernel: flags.kernel,
        anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`build       ${result.build_ms} ms median (16 cores, one address, ports 1025-65535)`);
      out(`alloc+free  ${(Number(result.alloc_free_per_s) / 1e6).toFixed(1)} million pairs/s (one core, ${flags.window} ports held)`);
      if (result.anchor) out(`native peer ${JSON.stringify(result.anchor)}\nratio       ${JSON.stringify(result.ratio_vs_anchor)}`);
    });
  return bench;
}
