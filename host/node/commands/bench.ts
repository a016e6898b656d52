/**
 * rssplane bench NAME: speed figures as JSON, medians of several rounds.
 */
import { Command, Option } from 'commander';
import type { Kernel } from '../../core/engine.js';
import { benchAdvise } from '../bench/advise.js';
import { benchFlows, benchTable, maxBenchFlows } from '../bench/flows.js';
import { benchCapture } from '../bench/capture.js';
import { benchConnect } from '../bench/connect.js';
import { benchRun, PEERS } from '../bench/run.js';
import { benchDpdk, DEFAULT_BENCH_EAL } from '../bench/dpdk.js';
import { benchPipeline } from '../bench/pipeline.js';
import { benchPorts } from '../bench/ports.js';
import { benchToeplitz, MAX_TUPLES } from '../bench/toeplitz.js';
import { CORES_MAX } from '../runner/plan.js';
import { json, out } from '../io.js';
import { wholeNumber } from '../options.js';
import { grouped } from '../../core/format.js';
import { invalid } from '../../core/errors.js';

export function benchCommand(): Command {
  const bench = new Command('bench')
    .summary('measure speed (JSON figures, medians of several rounds)')
    .description('Benchmarks print one JSON object with --json. Compare figures measured in the same run:\nthese machines are shared and noisy.');

  bench
    .command('toeplitz')
    .description('Hash random ipv4-l4 tuples already in WASM memory in one batch call, one core.')
    .option('--tuples <n>', `tuples per round (at most ${grouped(MAX_TUPLES)}: 16 bytes each in the engine's 4 GiB)`, '4000000')
    .option('--rounds <n>', 'timed rounds (the figure is their median)', '7')
    .addOption(new Option('--kernel <kernel>', 'force a kernel (default: the best this runtime validates)').choices(['simd', 'relaxed-simd']))
    .option('--anchor <binary>', 'also run the native anchor (toeplitz_native) between rounds and report ratios')
    .option('--json', 'print JSON')
    .action(async (flags: { tuples: string; rounds: string; kernel?: Kernel; anchor?: string; json?: boolean }) => {
      const result = await benchToeplitz({
        tuples: wholeNumber(flags.tuples, '--tuples', 4_000_000, 16, MAX_TUPLES),
        rounds: wholeNumber(flags.rounds, '--rounds', 7),
        kernel: flags.kernel,
        anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`toeplitz  ${result.mhash_per_s} Mhash/s (${result.kernel}, median of ${flags.rounds}), scalar path ${result.scalar_mhash_per_s} Mhash/s`);
      if (result.anchor_mhash_per_s) out(`native    ${JSON.stringify(result.anchor_mhash_per_s)}\nratio     ${JSON.stringify(result.ratio_vs_anchor)}`);
    });

  bench
    .command('flows')
    .description('Packets per second on one core through parse + RSS hash + flow update, from packets\nalready in WASM memory: TCP conversations built before the clock starts, all open at once.')
    .option('--flows <n>', 'concurrent TCP connections (22 packets each)', '20000')
    .option('--rounds <n>', 'timed rounds (the figure is their median)', '7')
    .option('--key <key>', 'RSS key', 'symmetric')
    .option('--input <file>', 'take the packets from a capture instead (at most 1 GiB, held in memory)')
    .option('--baseline-wasm <file>', 'also run another engine build (an older commit\'s build/rssplane.relaxed.wasm)\non the same packets, rounds interleaved, and report the ratio and whether the records match')
    .option('--decode-records', 'decode the records of flows that leave the table, as run --flows-out does\n(default: taken as bytes, the engine alone)')
    .option('--counts-only', 'flows that leave are counted, not copied out, as run without --flows-out\ndoes (and the baseline\'s tallies and bucket counts are compared with ours)')
    .option('--syn-cache <n>', 'lone SYNs kept, as run --syn-cache (default as run: table/64, at least 16,384;\nthe table is twice --flows, at least 65,536, or 1,048,576 with --input); an\nolder --baseline-wasm build keeps its own (65,536 before 530656f)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rssplane bench flows --json\n  rssplane bench flows --flows 100000 --rounds 11 --json\n  rssplane bench flows --input /tmp/bench.pcap --json\n  rssplane bench flows --input /tmp/syn500k.pcap --baseline-wasm /tmp/old/rssplane.relaxed.wasm --json')
    .action(async (flags: { flows: string; rounds: string; key: string; input?: string; baselineWasm?: string; decodeRecords?: boolean; countsOnly?: boolean; synCache?: string; json?: boolean }) => {
      if (flags.decodeRecords && flags.countsOnly) invalid('--counts-only', true, 'not with --decode-records: a round either copies records out or does not');
      const synCache = flags.synCache === undefined ? undefined : wholeNumber(flags.synCache, '--syn-cache', 0);
      const flows = wholeNumber(flags.flows, '--flows', 20000, 1, maxBenchFlows(synCache));
      const table = benchTable(flows, flags.input);
      if (synCache !== undefined && synCache > table) invalid('--syn-cache', flags.synCache, `at most ${grouped(table)}, the flow table (${flags.input ? 'with --input' : 'twice --flows, at least 65,536'})`);
      const result = await benchFlows({
        flows, rounds: wholeNumber(flags.rounds, '--rounds', 7), key: flags.key, input: flags.input,
        baseline: flags.baselineWasm, decode: flags.decodeRecords, countsOnly: flags.countsOnly, synCache,
      });
      if (flags.json) return json(result);
      out(`flows  ${result.mpps} Mpps (${result.gbit_per_s} Gbit/s, ${result.packets} packets, ${result.flows} connections, one core, median of ${flags.rounds})`);
      const b = result.baseline as { mpps: number } | undefined;
      if (b) out(`baseline  ${b.mpps} Mpps: ${result.speedup}x (paired ${result.speedup_paired}x), records ${result.same_records ? 'the same' : 'DIFFER'}, counts ${result.same_counts ? 'the same' : 'DIFFER'}`);
    });

  bench
    .command('capture')
    .summary('Walk a pcap or pcapng file\'s records, in WASM memory and from the file, one core.')
    .description('Records per second: a pcap or pcapng file walked in WASM memory, and read\n' +
      'from the file (page cache warm) as run --input reads it. Rounds interleaved,\n' +
      'one core.\n\n' +
      'Examples:\n' +
      '  sudo scripts/make-bench-capture.sh /tmp/bench.pcap     # 600,000 real packets\n' +
      '  rssplane bench capture --input /tmp/bench.pcap --json\n' +
      '  cc -O2 scripts/pcap_walk.c -lpcap -o /tmp/pcap_walk    # libpcap, for a ratio\n' +
      '  rssplane bench capture --input /tmp/bench.pcap --anchor /tmp/pcap_walk')
    .requiredOption('--input <file>', 'the capture (at most 1 GiB: it is held in memory whole)')
    .option('--rounds <n>', 'timed rounds (the figure is their median)', '7')
    .option('--batch <n>', 'descriptors per batch', '4096')
    .option('--anchor <binary>', 'also run libpcap\'s reader (scripts/pcap_walk.c, built) between rounds and report the ratio')
    .option('--json', 'print JSON')
    .action(async (flags: { input: string; rounds: string; batch: string; anchor?: string; json?: boolean }) => {
      const result = await benchCapture({
        input: flags.input,
        rounds: wholeNumber(flags.rounds, '--rounds', 7),
        batchSize: wholeNumber(flags.batch, '--batch', 4096),
        anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`capture   ${result.mrecords_per_s} M records/s (${result.gbytes_per_s} GB/s) in memory, ${result.file_mrecords_per_s} M records/s (${result.file_gbytes_per_s} GB/s) from the file`);
      if ('anchor_mrecords_per_s' in result) out(`libpcap   ${result.anchor_mrecords_per_s} M records/s from the file (ratio ${result.ratio_file_vs_anchor})`);
      out(`          ${result.records} records, ${result.packets} packets, ${result.format}, median of ${flags.rounds}`);
    });
  bench
    .command('run')
    .summary('rssplane run --input end to end against tcptrace and ndpiReader, rounds interleaved')
    .description('Wall-clock seconds of `rssplane run --input F --cores 1 --json`,\n' +
      '`tcptrace -l -n F` and `ndpiReader -i F -q` on the same capture, one core\n' +
      'each, each a fresh process (start-up counted). One round runs each tool\n' +
      'once, after an untimed round that warms the page cache. Prints each tool\'s\n' +
      'median seconds and, per peer, the median over rounds of its seconds over\n' +
      'ours: the speedup (issue 4 asks for 3 against the faster peer).\n\n' +
      'Examples:\n' +
      '  sudo scripts/make-bench-capture.sh /tmp/bench.pcap 5000000\n' +
      '  editcap -s 128 /tmp/bench.pcap /tmp/bench-s128.pcap\n' +
      '  rssplane bench run --input /tmp/bench.pcap --rounds 7 --json\n' +
      '  rssplane bench run --input /tmp/bench-s128.pcap --peers ndpiReader')
    .requiredOption('--input <file>', 'the capture (pcap or pcapng)')
    .option('--rounds <n>', 'timed rounds (the figures are medians)', '5')
    .option('--peers <names>', `comma-separated, from ${Object.keys(PEERS).join(', ')}`, Object.keys(PEERS).join(','))
    .option('--cores <n>', 'cores for rssplane (the peers run on one)', '1')
    .option('--json', 'print JSON')
    .action((flags: { input: string; rounds: string; peers: string; cores: string; json?: boolean }) => {
      const result = benchRun({
        input: flags.input,
        rounds: wholeNumber(flags.rounds, '--rounds', 5),
        peers: flags.peers.split(',').map((p) => p.trim()).filter(Boolean),
        cores: wholeNumber(flags.cores, '--cores', 1),
      });
      if (flags.json) return json(result);
      const n = (x: number) => grouped(x);
      out(`${flags.input}: ${n(result.packets)} packets, ${n(result.bytes)} bytes, median of ${result.rounds} interleaved rounds`);
      for (const [tool, s] of Object.entries(result.seconds)) {
        const speedup = (result.speedup as Record<string, number>)[tool];
        out(`  ${tool.padEnd(10)} ${s.toFixed(3)} s${speedup !== undefined ? `   speedup ${speedup} (its seconds over ours)` : ''}`);
      }
      if (result.fastest_peer) out(`target (3x the faster peer, ${result.fastest_peer}): ${result.target_met ? 'met' : 'not met'} (${result.speedup_vs_fastest}x)`);
    });

  bench
    .command('pipeline')
    .description('Packets per second end to end from the synthetic source (generated, steered by software\nRSS, tracked per core), on one core and on all cores; rounds interleaved.')
    .option('--conversations <n>', 'synthetic conversations per round (about 136 packets each)', '20000')
    .option('--rounds <n>', 'rounds of each (the figures are medians)', '5')
    .option('--cores <n>', 'cores for the "all" figure (default: all)')
    .option('--key <key>', 'RSS key', 'symmetric')
    .option('--json', 'print JSON')
    .action(async (flags: { conversations: string; rounds: string; cores?: string; key: string; json?: boolean }) => {
      const result = await benchPipeline({
        conversations: wholeNumber(flags.conversations, '--conversations', 20000), rounds: wholeNumber(flags.rounds, '--rounds', 5),
        cores: flags.cores === undefined ? undefined : wholeNumber(flags.cores, '--cores', 1, 1, CORES_MAX), key: flags.key,
      });
      if (flags.json) return json(result);
      out(`pipeline  1 core ${grouped(result.pps_1core)} pps, ${result.cores} cores ${grouped(result.pps_all)} pps (${result.speedup}x; ${result.speedup_paired}x round by round), median of ${flags.rounds}`);
    });

  bench
    .command('dpdk')
    .summary('packets per second per core from a DPDK port into WASM rings, and through the engine')
    .description(
      'Packets per second per core from a DPDK port straight into each core\'s WASM\n' +
        'ring (the shim\'s RxQueue.fill into the next free slot, taken as a consumer\n' +
        'takes it), and on through the flow engine. One thread, receive queue, engine\n' +
        'and ring per core, all cores at once; the two modes alternate round by round.\n' +
        'The default port is net_null: 64-byte packets as fast as a port can give\n' +
        'them (their bytes are zeros, so the engine parses the Ethernet header and\n' +
        'counts them unhashed: the figure is the receive path, not TCP tracking).')
    .option('--eal <args>', 'EAL arguments', DEFAULT_BENCH_EAL)
    .option('--port <n>', 'the port', '0')
    .option('--cores <n>', 'cores, one receive queue each (default: all)')
    .option('--packets <n>', 'packets per core per round', '10000000')
    .option('--rounds <n>', 'rounds of each mode (the figures are medians)', '5')
    .option('--anchor <binary>', 'also run the native peer (test/native/dpdk_rx.c, built) between rounds: one core, in C')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rssplane bench dpdk --json\n  rssplane bench dpdk --cores 1 --packets 20000000 --rounds 7 --json\n' +
      '  cc -O3 test/native/dpdk_rx.c $(pkg-config --cflags --libs libdpdk) -o /tmp/dpdk_rx\n' +
      '  rssplane bench dpdk --cores 1 --anchor /tmp/dpdk_rx --json')
    .action(async (flags: { eal: string; port: string; cores?: string; packets: string; rounds: string; anchor?: string; json?: boolean }) => {
      const result = await benchDpdk({
        eal: flags.eal, port: wholeNumber(flags.port, '--port', 0, 0),
        cores: flags.cores === undefined ? undefined : wholeNumber(flags.cores, '--cores', 1),
        packets: wholeNumber(flags.packets, '--packets', 10_000_000), rounds: wholeNumber(flags.rounds, '--rounds', 5), anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`dpdk  into the rings ${result.mpps_per_core} Mpps per core, through the engine ${result.mpps_per_core_engine} Mpps per core (${result.cores} cores, ${result.port.driver}, median of ${flags.rounds})`);
      if (result.anchor_pps) out(`C     ${(result.anchor_pps / 1e6).toFixed(2)} Mpps (one core; ratio ${result.ratio_vs_anchor})`);
    });

  bench
    .command('connect')
    .summary('TCP connections/s and keep-alive requests/s in memory, beside wrk against nginx')
    .description(
      'Our TCP endpoints, client on one core and server on another over the in-memory wire:\n' +
        'connections per second (a handshake, one GET, a 1 KiB response, a close by FIN) and\n' +
        'keep-alive requests per second (100 requests a connection). In the same run, rounds\n' +
        'interleaved, the Linux kernel does the same: wrk (one thread) against Debian\'s nginx (one\n' +
        'worker) on 127.0.0.1 in a network namespace of the bench\'s own (root, nginx and wrk\n' +
        'needed; --no-peer skips it). Figures are medians; ratios are taken round by round.')
    .option('--rounds <n>', 'rounds of each (the figures are medians)', '5')
    .option('--connections <n>', 'connections per round (one request each)', '200000')
    .option('--requests <n>', 'requests per keep-alive round', '500000')
    .option('--concurrency <n>', 'connections at once (ours and wrk\'s)', '128')
    .option('--wrk-seconds <s>', 'seconds of each wrk round', '3')
    .option('--no-peer', 'skip wrk and nginx')
    .option('--json', 'print JSON')
    .action(async (flags: { rounds: string; connections: string; requests: string; concurrency: string; wrkSeconds: string; peer: boolean; json?: boolean }) => {
      const result = await benchConnect({
        rounds: wholeNumber(flags.rounds, '--rounds', 5), connections: wholeNumber(flags.connections, '--connections', 200_000),
        requests: wholeNumber(flags.requests, '--requests', 500_000, 100), concurrency: wholeNumber(flags.concurrency, '--concurrency', 128),
        wrkSeconds: wholeNumber(flags.wrkSeconds, '--wrk-seconds', 3), peer: flags.peer,
      });
      if (flags.json) return json(result);
      out(`connect  ${result.connections_per_s.toLocaleString('en-US')} connections/s, ${result.requests_per_s.toLocaleString('en-US')} keep-alive requests/s (median of ${result.rounds})`);
      if ('ratio_connections' in result && result.peer && 'tool' in result.peer) {
        out(`kernel   ${result.peer.connections_per_s.toLocaleString('en-US')} connections/s, ${result.peer.requests_per_s.toLocaleString('en-US')} requests/s (${result.peer.tool})`);
        out(`ratio    ${result.ratio_connections}x connections (target 10x), ${result.ratio_requests}x requests (target 3x)`);
      }
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
        pairs: wholeNumber(flags.pairs, '--pairs', 10_000_000, 1, 0xffffffff),
        window: wholeNumber(flags.window, '--window', 1024),
        kernel: flags.kernel,
        anchor: flags.anchor,
      });
      if (flags.json) return json(result);
      out(`build       ${result.build_ms} ms median (16 cores, one address, ports 1025-65535)`);
      out(`alloc+free  ${(Number(result.alloc_free_per_s) / 1e6).toFixed(1)} million pairs/s (one core, ${flags.window} ports held)`);
      if (result.anchor) out(`native peer ${JSON.stringify(result.anchor)}\nratio       ${JSON.stringify(result.ratio_vs_anchor)}`);
    });
  bench
    .command('advise')
    .summary('what the advice costs: the table fix for 2048 entries and 64 queues; advise against run on a capture')
    .description('`ms`: the table fix (Fix 2, default move budget) for a 2048-entry table\n' +
      'over 64 queues, the library call alone (target: under 50 ms), on the\n' +
      'per-entry load of 200,000 heavy-tailed flows; the exact weights and the\n' +
      'whole advice beside it. With --input, `rssplane advise` and `rssplane run`\n' +
      'on that capture, each a fresh process, rounds interleaved: `overhead_ms`\n' +
      'is the median of each round\'s difference (target: at most 100 ms), with\n' +
      'the same in CPU time and advise\'s own `advice_ms`.\n\n' +
      'Examples:\n' +
      '  rssplane bench advise --json\n' +
      '  sudo scripts/make-bench-capture.sh /tmp/bench.pcap 5000000\n' +
      '  rssplane bench advise --input /tmp/bench.pcap --rounds 5 --json')
    .option('--rounds <n>', 'timed rounds (the figures are medians)', '7')
    .option('--seed <n>', 'seed of the synthetic loads', '1')
    .option('--input <file>', 'also time advise against run on this capture')
    .option('--cores <n>', 'cores for run and advise on the capture', '1')
    .option('--json', 'print JSON')
    .action((flags: { rounds: string; seed: string; input?: string; cores: string; json?: boolean }) => {
      const result = benchAdvise({
        rounds: wholeNumber(flags.rounds, '--rounds', 7), seed: wholeNumber(flags.seed, '--seed', 1, 0),
        input: flags.input, cores: wholeNumber(flags.cores, '--cores', 1),
      });
      if (flags.json) return json(result);
      const r = result as Record<string, unknown> & ReturnType<typeof benchAdvise>;
      out(`table fix  ${r.ms} ms (2048 entries, 64 queues, ${r.moves} moves, imbalance ${(r.table as { imbalance: number }).imbalance} -> ${r.fix_imbalance}); at most 64 moves ${r.ms_max_moves_64} ms`);
      out(`weights    ${r.weights_ms} ms (exact), whole advice ${r.advise_ms} ms; median of ${r.rounds}`);
      if (r.overhead_ms !== undefined) out(`capture    run ${r.run_seconds} s, advise ${r.advise_seconds} s: advice adds ${r.overhead_ms} ms (median of the rounds' differences)`);
    });
  return bench;
}
