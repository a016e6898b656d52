/**
 * rssplane run: the data plane's main job. Packets come in (a capture, or synthetic TCP traffic by
 * default), RSS spreads them over cores exactly as a NIC would, each core's engine tracks its
 * flows, and the summary says where the load went and what the flows did.
 */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { availableKernel } from '../../core/engine.js';
import { invalid } from '../../core/errors.js';
import { presetName } from '../../core/key.js';
import { DEFAULT_RETA_SIZE, Reta } from '../../core/reta.js';
import { exitWhenWritten, json, out, stderrIsTerminal } from '../io.js';
import { dpdkIdleMs, dpdkOptions, explicitIn, rssConfig, rssOptions, wholeNumber, type DpdkFlags, type RssFlags } from '../options.js';
import { FLOW_INDEX_LOAD, FLOW_INDEX_SLOT, FLOW_RECORD, FLOW_REVERSE_HASH, SYN_CACHE_MIN, SYN_CACHE_SHARE, SYN_ENTRY, SYN_SIDE } from '../../../assembly/shared/abi.js';
import { flowBufferBytes, flowTableBytes, generatorBytes, maxConversations, maxFlowTable } from '../../core/limits.js';
import { CORES_MAX, coreHoldings, generatorSlots, rssValues, type RunPlan, type SourcePlan } from '../runner/plan.js';
import { printReport } from '../runner/report.js';
import { DEFAULT_RING } from '../runner/ring.js';
import { runPlan, RunFailure, type Progress } from '../runner/runner.js';
import { FlowLines } from '../sinks/flows.js';
import { closePort, loadDpdk, native, openPort, type DpdkAddon, type DpdkPort } from '../sources/dpdk.js';
import { statSync } from 'node:fs';
import { grouped } from '../../core/format.js';
import { ipfixOptions, ipfixSettings, startIpfix, type IpfixFlags } from '../export/ipfix-options.js';
import { liveOptions, LiveSession, type LiveFlags } from '../live/session.js';

interface RunFlags extends RssFlags, DpdkFlags, IpfixFlags, LiveFlags {
  input: string;
  cores?: string;
  conversations: string;
  concurrent: string;
  seed: string;
  ipv6: string;
  retransmit: string;
  flowsOut?: string;
  json?: boolean;
  flowTable: string;
  synCache?: string;
  idleTimeout: string;
  checksums: 'verify' | 'drop' | 'off';
  progress: boolean;
}

function share(text: string, subject: string): number {
  const v = Number(text);
  if (!(v >= 0 && v <= 1)) invalid(subject, text, 'a share from 0 to 1');
  return v;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .summary('run packets through the data plane: RSS over cores, flows per core, a summary')
    .description(
      'Runs packets through one engine per core, as a NIC with RSS would feed them: each packet is\n' +
        'parsed, hashed with the RSS key and field set, sent through the indirection table to its\n' +
        'queue and to the core serving it (queue i -> core i % cores), and tracked there in a flow\n' +
        'table that follows both sides of every TCP connection.\n\n' +
        'The input is a capture (pcap or pcapng), or by default synthetic TCP traffic generated in\n' +
        'WASM (deterministic from --seed). The summary gives packets per queue and per core with\n' +
        'their imbalance, flows by state and close reason, split flows (connections whose two\n' +
        'directions landed on different cores: a symmetric key has none), and drops by reason.\n\n' +
        'With --input dpdk, packets come from a DPDK port (--eal: EAL\'s arguments,\n' +
        '--port: the port): each core polls its receive queues straight into its\n' +
        'engine\'s memory. A port that does RSS is programmed with the key and table,\n' +
        'which are then read back from it and used; a port without RSS (net_pcap,\n' +
        'net_ring...) is spread by software RSS. The input ends when the queues stay\n' +
        'empty for --dpdk-idle ms (net_pcap: its files are read), or on Ctrl-C.\n' +
        `The table defaults to equal over the cores (${DEFAULT_RETA_SIZE} entries).`,
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--input <source>', 'a capture file (pcap or pcapng; - for stdin), "synthetic", or "dpdk" (a DPDK port: --eal, --port)', 'synthetic')
    .option('--cores <n>', `worker threads, one engine and flow table each (default: all ${availableParallelism()})`)
    .option('--conversations <n>', 'synthetic: TCP conversations in all', '20000')
    .option('--concurrent <n>', 'synthetic: conversations in progress at once', '10000')
    .option('--seed <n>', 'synthetic: the seed (same seed, same traffic)', '1')
    .option('--ipv6 <share>', 'synthetic: share of IPv6 conversations', '0.2')
    .option('--retransmit <share>', 'synthetic: share of data segments sent twice', '0.01');
  dpdkOptions(cmd, 'dpdk: ')
    .option('--flows-out <file>', 'write one JSON line per flow (- for stdout)')
    .option('--flow-table <n>', `flow table capacity per core (about ${FLOW_RECORD + FLOW_REVERSE_HASH + FLOW_INDEX_LOAD * FLOW_INDEX_SLOT} bytes a flow, and ${SYN_ENTRY + SYN_SIDE} for each of the ${grouped(SYN_CACHE_MIN)} or table/${SYN_CACHE_SHARE} lone SYNs it keeps; at most ${grouped(defaultMaxFlowTable())}, a little less with many cores: the engine's 4 GiB memory)`, String(1 << 20))
    .option('--syn-cache <n>', `lone SYNs kept per core, the SYN cache (connections that have sent only their SYN; default table/${SYN_CACHE_SHARE}, at least ${grouped(SYN_CACHE_MIN)} or the whole table; at most --flow-table): when it is full, its oldest leaves, evicted, though the table has room, so a flood stays in it. Larger keeps more unanswered SYNs at once; the default keeps a flood's working set in a core's L2`)
    .option('--idle-timeout <seconds>', `a flow with no packet for this long (packet time) ends (${IDLE_MIN} to ${IDLE_MAX})`, '300')
    .addOption(new Option('--checksums <mode>', 'verify (count bad), drop (count and drop), off').choices(['verify', 'drop', 'off']).default('verify'))
    .option('--no-progress', 'no progress bar or live line (there is none when stderr is not a terminal)')
    .option('--json', 'print the summary as JSON');
  liveOptions(cmd)
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane run                                          # synthetic traffic, all cores\n' +
      '  rssplane run --key symmetric --cores 2 --json\n' +
      '  rssplane run --input trace.pcap --reta equal:8 --flows-out flows.jsonl\n' +
      '  rssplane run --input trace.pcapng --reta-file ethtool-x.txt --cores 4\n' +
      '  rssplane run --input trace.pcap --ipfix flows.ipfix --ipfix udp://127.0.0.1:4739\n' +
      '  rssplane run --input dpdk --eal "--no-huge -m 512 --no-pci --vdev net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap"\n' +
      '  rssplane run --input dpdk --eal "-a 0000:3b:00.0" --key symmetric --cores 8\n' +
      '  rssplane run --duration 600 --metrics 0.0.0.0:9464 --json-stats stats.jsonl')
    .action(async (flags: RunFlags) => {
      const cores = wholeNumber(flags.cores, '--cores', availableParallelism());
      if (cores > CORES_MAX) invalid('--cores', flags.cores, `at most ${CORES_MAX}`);
      const explicit = explicitIn(cmd);
      // One queue per core unless a table was given: what a NIC set up for N cores looks like.
      const table = flags.reta === undefined && flags.retaFile === undefined
        ? { ...flags, reta: `equal:${cores}`, retaSize: flags.retaSize ?? String(DEFAULT_RETA_SIZE) } : flags;
      let config = rssConfig(table, explicit);
      const idle = Number(flags.idleTimeout);
      // The engine keeps timeouts in whole milliseconds, in 32 bits.
      if (!(idle >= IDLE_MIN && idle <= IDLE_MAX)) invalid('--idle-timeout', flags.idleTimeout, `expected seconds from ${IDLE_MIN} to ${IDLE_MAX}`);
      // Ctrl-C ends a live port's input and the run reports what it saw; a second one quits.
      let interrupted = false;
      const onInterrupt = () => {
        if (interrupted) process.exit(130);
        interrupted = true;
      };
      let source: SourcePlan;
      let inputBytes: number | undefined;
      let dpdk: DpdkAddon | undefined;
      let port: DpdkPort | undefined;
      if (flags.input !== 'dpdk') {
        const dpdkOnly: Array<[keyof RunFlags, string]> = [['eal', '--eal'], ['port', '--port'], ['rxQueues', '--rx-queues'], ['dpdkIdle', '--dpdk-idle']];
        for (const [o, name] of dpdkOnly) if (explicit(o)) invalid(name, flags[o], 'only with --input dpdk');
      }
      if (flags.duration !== undefined && flags.input !== 'synthetic' && flags.input !== 'dpdk') invalid('--duration', flags.duration, 'only with --input synthetic or dpdk');
      if (flags.input === 'synthetic') {
        source = {
          // A run for --duration has no set number of conversations (0: no end) unless given one.
          kind: 'synthetic', conversations: flags.duration !== undefined && !explicit('conversations') ? 0 : wholeNumber(flags.conversations, '--conversations', 20000),
          concurrent: wholeNumber(flags.concurrent, '--concurrent', 10000, 1, CONCURRENT_LIMIT), seed: wholeNumber(flags.seed, '--seed', 1, 0),
          ipv6: share(flags.ipv6, '--ipv6'), retransmit: share(flags.retransmit, '--retransmit'),
        };
      } else if (flags.input === 'dpdk') {
        // Ctrl-C from here on ends the input (at once, if it comes before the run starts) rather
        // than killing the process while EAL sets up.
        process.on('SIGINT', onInterrupt);
        dpdk = loadDpdk();
        port = openPort(dpdk, flags, config, { cores });
        config = port.config;
        const queueCores = Array.from({ length: (config.reta as Reta).queues }, (_, q) => q % cores);
        source = {
          kind: 'dpdk', port: port.port, deviceTimestamps: port.deviceTimestamps,
          // With device RSS receive queue q is RSS queue q: its core polls it. Without, any core will do.
          pollCores: Array.from({ length: port.rxQueues }, (_, q) => (port!.rss === 'device' ? queueCores[q] ?? q % cores : q % cores)),
          idleMs: dpdkIdleMs(flags, port.deviceTimestamps),
        };
      } else {
        if (flags.input !== '-') {
          try {
            const stat = statSync(flags.input);
            if (!stat.isFile()) invalid('--input', flags.input, 'not a file');
            inputBytes = stat.size;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') invalid('--input', flags.input, 'no such file (or give "synthetic")');
            throw e;
          }
        }
        source = { kind: 'capture', path: flags.input };
      }
      const reta = config.reta as Reta;
      const plan: RunPlan = {
        cores, kernel: availableKernel(), rss: rssValues(config),
        queueCores: Array.from({ length: reta.queues }, (_, q) => q % cores),
        flows: { capacity: wholeNumber(flags.flowTable, '--flow-table', 1 << 20), idleTimeout: idle, checksums: flags.checksums },
        source, ring: DEFAULT_RING, records: flags.flowsOut !== undefined,
      };
      if (flags.synCache !== undefined) {
        const syns = wholeNumber(flags.synCache, '--syn-cache', 0);
        if (syns > plan.flows.capacity) invalid('--syn-cache', flags.synCache, `at most ${grouped(plan.flows.capacity)}, the flow table (--flow-table)`);
        plan.flows.synCache = syns;
      }
      const ipfix = await ipfixSettings(flags, explicit);
      if (ipfix) plan.ipfix = { domain: ipfix.domain, activeTimeout: ipfix.activeTimeout };
      checkMemory(plan, flags, explicit);
      // A capture file cannot hold more flows than packets, nor more packets than its size
      // allows: a table that large already never evicts, and a smaller reservation starts faster.
      if (inputBytes !== undefined) plan.flows.capacity = Math.max(1, Math.min(plan.flows.capacity, Math.ceil(inputBytes / SMALLEST_FLOW_RECORD)));
      if (plan.flows.synCache !== undefined) plan.flows.synCache = Math.min(plan.flows.synCache, plan.flows.capacity);
      const sink = flags.flowsOut !== undefined ? new FlowLines(flags.flowsOut) : undefined;
      const exporter = ipfix ? await startIpfix(ipfix) : undefined;
      // Core threads send to UDP collectors themselves (the main thread would fall behind).
      const coreShare = exporter?.coreShare();
      // A live run (a port, or synthetic traffic for --duration) shows a line a second on a terminal
      // instead of a progress bar; Ctrl-C ends its input (a synthetic run's or a port's) and the run
      // reports what it saw; a second one quits.
      const liveInput = source.kind === 'dpdk' || flags.duration !== undefined;
      const live = await LiveSession.open(flags, {
        terminal: flags.progress && stderrIsTerminal() && liveInput, interruptible: source.kind !== 'capture',
      });
      // Each --ipfix target's records sent and dropped, for the metrics and the live view.
      for (const t of exporter?.targets ?? []) live.addExporter({ exporter: t.stats.target, sent: () => t.stats.records_sent, dropped: () => t.stats.records_dropped });
      // The session takes Ctrl-C over from the one caught while EAL set up (a port's run).
      process.off('SIGINT', onInterrupt);
      if (interrupted) live.ending!.abort();
      const bar = flags.progress && stderrIsTerminal() && !liveInput ? await progressBar(source) : undefined;
      for (const w of port?.warnings ?? []) process.stderr.write(`rssplane: warning: ${w}\n`);
      // Without a bar, a live port that only Ctrl-C ends says so once its packets flow (scripts
      // wait for this line before they send the signal).
      let told = false;
      const tell = port && !bar && source.kind === 'dpdk' && source.idleMs === 0
        ? (p: Progress) => {
          if (told || p.packets === 0) return;
          told = true;
          process.stderr.write(`rssplane: reading DPDK port ${port!.port} (${port!.info.driver}): Ctrl-C ends the input\n`);
        }
        : undefined;
      let result;
      try {
        result = await runPlan(plan, {
          onProgress: bar?.update ?? tell, endInput: live.ending?.signal, onCores: live.onCores,
          ...(exporter ? { onIpfix: (m: Uint8Array) => exporter.write(m) } : {}),
          ...(exporter && coreShare ? { coreIpfix: { share: coreShare, onIpfix: (m: Uint8Array) => exporter.writeFromCore(m) } } : {}),
        });
      } catch (e) {
        bar?.stop();
        await live.close();
        if (e instanceof RunFailure && !e.user) {
          process.stderr.write(`rssplane: ${e.message}\n`);
          if (process.env.RSSPLANE_DEBUG && e.detail) process.stderr.write(`${e.detail}\n`);
          process.exit(1);
        }
        throw e;
      }
      bar?.stop();
      await live.close();
      const device = port && dpdk ? finishPort(dpdk, port) : undefined;
      for (const w of result.warnings) process.stderr.write(`rssplane: warning: ${w}\n`);
      if (sink) {
        sink.write(result.records);
        sink.close();
      }
      await exporter?.close();
      const exported = exporter?.stats();
      const what = source.kind === 'synthetic' ? `synthetic (${source.conversations ? `${grouped(source.conversations)} conversations` : `for ${flags.duration} s`}, seed ${source.seed})`
        : source.kind === 'dpdk' ? `DPDK port ${port!.port} (${port!.info.driver}, ${port!.rxQueues} receive queue${port!.rxQueues > 1 ? 's' : ''}, ${port!.rss} RSS)`
        : source.path;
      // What the run held: the process's peak resident memory, and what its flow tables reserve
      // (pages of a table are only resident once its flows have touched them).
      const memory = { resident_peak: process.resourceUsage().maxRSS * 1024, flow_tables: plan.cores * flowTableBytes(plan.flows.capacity, plan.flows.synCache) };
      if (flags.json) {
        json({
          ...result.report, input: flags.input, key: presetName(config.key) ?? 'custom', fields: config.fields, hfunc: config.hfunc, xfrm: config.xfrm,
          reta_size: reta.size, kernel: plan.kernel, memory, ...(device ? { dpdk: device } : {}), ...(exported ? { ipfix: exported } : {}),
        });
      } else {
        const symmetric = presetName(config.key) === 'symmetric' || presetName(config.key) === 'mtcp' || config.xfrm !== 'none';
        printReport(result.report, what, { symmetric, wroteFlows: sink !== undefined && flags.flowsOut !== '-' });
        if (exported) {
          const each = exported.targets.map((t) => `${t.target}: ${grouped(t.records_sent)} sent${t.records_dropped ? `, ${grouped(t.records_dropped)} dropped` : ''}`);
          out(`IPFIX: ${grouped(exported.records_encoded)} records (${each.join('; ')})`);
        }
        out(`memory: resident at most ${(memory.resident_peak / 1e6).toFixed(0)} MB; flow tables reserve ${(memory.flow_tables / 1e6).toFixed(0)} MB (touched as flows arrive)`);
        if (device) {
          const n = (x: number) => grouped(x);
          out(`DPDK port ${device.port}: received ${n(device.ipackets)}, missed ${n(device.imissed)} (no free descriptor), errors ${n(device.ierrors)}, no mbuf ${n(device.rx_nombuf)}`);
        }
      }
      // Everything is written, the files closed, the exporters and the metrics server shut.
      await exitWhenWritten({ quick: source.kind !== 'dpdk' });
    });
  ipfixOptions(cmd);
  return cmd;
}

/**
 * The fewest capture bytes a packet that makes a flow takes: a pcap record header (16 bytes;
 * pcapng's enhanced packet block takes 32) and an IPv4 header with a UDP one (raw IP, 28).
 */
const SMALLEST_FLOW_RECORD = 16 + 28;

/** --idle-timeout's range: whole milliseconds, in the engine's 32 bits. */
const IDLE_MIN = 0.001;
const IDLE_MAX = 0xffffffff / 1000;
/** Synthetic conversations in progress at once, across the run (SyntheticSource's limit). */
const CONCURRENT_LIMIT = 10_000_000;

/** The largest --flow-table of a default run on this machine (a capture, all cores), for --help. */
function defaultMaxFlowTable(): number {
  const cores = availableParallelism();
  return maxFlowTable(flowBufferBytes({}) + coreHoldings({
    cores, kernel: 'simd', rss: { key: new Uint8Array(40), fields: 'ipv4-l4', hfunc: 'toeplitz', xfrm: 'none', table: new Uint16Array(128) },
    queueCores: [], flows: { capacity: 1, idleTimeout: 300, checksums: 'verify' }, source: { kind: 'capture', path: 'x' }, ring: DEFAULT_RING, records: false,
  }));
}

/**
 * Each core's engine must hold its flow table, its buffers and the run's (rings, input, the
 * synthetic conversations in progress): a size that does not fit is refused here, naming its
 * largest value beside the others, before any engine is made.
 */
function checkMemory(plan: RunPlan, flags: RunFlags, explicit: (name: string) => boolean): void {
  const held = flowBufferBytes({}) + coreHoldings(plan);
  const tableMax = maxFlowTable(held, plan.flows.synCache);
  if (plan.flows.capacity <= tableMax) return;
  const s = plan.source;
  if (s.kind === 'synthetic' && !explicit('flowTable')) {
    // The conversations in progress are what left no room for the default table.
    const others = held - generatorBytes(generatorSlots(s, plan.cores)) + flowTableBytes(plan.flows.capacity, plan.flows.synCache);
    const most = Math.min(CONCURRENT_LIMIT, maxConversations(others) * plan.cores);
    invalid('--concurrent', flags.concurrent, `at most ${grouped(most)} on ${plan.cores} core${plan.cores > 1 ? 's' : ''} with --flow-table ${plan.flows.capacity} (the engine's 4 GiB memory)`);
  }
  const why = s.kind === 'synthetic' ? ` with --concurrent ${flags.concurrent} on ${plan.cores} core${plan.cores > 1 ? 's' : ''}` : plan.cores > 1 ? ` with ${plan.cores} cores` : '';
  const syns = plan.flows.synCache === undefined ? '' : `${why ? ' and' : ' with'} --syn-cache ${plan.flows.synCache}`;
  invalid('--flow-table', flags.flowTable, `at most ${grouped(tableMax)} flows a core${why}${syns} (the engine's 4 GiB memory)`);
}

/** The port's counters, then the port and EAL closed: the run is over. */
function finishPort(dpdk: DpdkAddon, port: DpdkPort) {
  const s = native(() => dpdk.stats(port.port));
  closePort(dpdk, port.port);
  dpdk.cleanup();
  return {
    port: port.port, driver: port.info.driver, rx_queues: port.rxQueues, rss: port.rss,
    ipackets: s.ipackets, imissed: s.imissed, ierrors: s.ierrors, rx_nombuf: s.rxNombuf, queue_ipackets: s.queueIpackets,
  };
}

/**
 * A progress bar on stderr: capture bytes read, conversations started, or packets from a port.
 * Loaded only for a terminal (cli-progress brings readline with it).
 */
async function progressBar(source: SourcePlan): Promise<{ update: (p: Progress) => void; stop: () => void }> {
  const { default: cliProgress } = await import('cli-progress');
  const capture = source.kind === 'capture' && source.path !== '-';
  const total = capture ? statSync(source.path).size : source.kind === 'synthetic' ? source.conversations : 0;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: capture ? '{bar} {percentage}% | {packets} packets | {mb} MB'
      : source.kind === 'dpdk' ? '{packets} packets (Ctrl-C ends the input)'
      : '{bar} {percentage}% | {packets} packets | {value}/{total} conversations',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total || 1, 0, { packets: 0, mb: 0 });
  return {
    update: (p) => bar.update(capture ? p.inputBytes : p.conversations, { packets: grouped(p.packets), mb: (p.inputBytes / 1e6).toFixed(0) }),
    stop: () => bar.stop(),
  };
}
