#!/usr/bin/env node
/**
 * The link layer alone on a DPDK port, until told to stop: the test rig's way to bring up our side
 * of a link (ARP, ND, ping answered; addresses resolved on request) without the endpoints above
 * it. Not a public command: connect and serve take the same options and run the same threads.
 *
 *   node dist/link-harness.js --eal "--no-huge -m 512 --no-pci --vdev net_af_packet0,iface=veth0" \
 *     --ip 198.18.0.2/24 --ip6 2001:db8::2/64 [--cores N] [--resolve ADDR]...
 *
 * Prints JSON lines on stdout: {"event":"up",...} once running; {"event":"resolve",...} for each
 * --resolve, and for each `resolve ADDR` line on stdin; {"event":"summary",...} at the end, which
 * comes on SIGINT or SIGTERM, a `stop` line on stdin, or --dpdk-idle. Mistakes: one line on
 * stderr, exit 2.
 */
import { createInterface } from 'node:readline';
import { Command, CommanderError } from 'commander';
import { invalid } from '../../core/errors.js';
import { parseAddress } from '../../core/addr.js';
import { resolveMessage, type ResolveResult } from '../../core/link.js';
import { DEFAULT_RETA_SIZE } from '../../core/reta.js';
import { failAndExit, json, USAGE } from '../io.js';
import { rssConfig, wholeNumber } from '../options.js';
import { linkOptions, type LinkFlags } from './options.js';
import { LinkSession, openLink, type LinkReport } from './session.js';
import '../relaxed-simd.js';

interface HarnessFlags extends LinkFlags {
  cores: string;
  resolve: string[];
  neighbours?: string;
}

const program = linkOptions(new Command('rssplane-link-harness')
  .description('The link layer (ARP, neighbour discovery, echo) on a DPDK port until told to stop; JSON lines on stdout.'))
  .option('--cores <n>', 'cores (threads), one engine each', '1')
  .option('--resolve <addr>', 'resolve this address once up (repeatable)', (v: string, p: string[]) => [...p, v], [])
  .option('--neighbours <n>', 'neighbour cache entries per core (a power of two)')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`rssplane: ${text.replace(/^error: /, '').trimEnd()}\n`) });

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : USAGE);
    throw e;
  }
  const flags = program.opts<HarnessFlags>();
  const cores = wholeNumber(flags.cores, '--cores', 1);
  if (cores > 64) invalid('--cores', flags.cores, 'at most 64');
  const neighbours = flags.neighbours === undefined ? undefined : wholeNumber(flags.neighbours, '--neighbours', 8);
  if (neighbours !== undefined && (neighbours > 65536 || (neighbours & (neighbours - 1)) !== 0)) {
    invalid('--neighbours', flags.neighbours, 'a power of two from 8 to 65536');
  }
  for (const a of flags.resolve) parseAddress(a, '--resolve');
  const config = rssConfig({ key: 'microsoft', fields: 'ipv4-l4', hfunc: 'toeplitz', xfrm: 'none', reta: `equal:${cores}`, retaSize: String(DEFAULT_RETA_SIZE) });
  const opened = openLink(flags, { cores, config, ...(neighbours ? { neighbours } : {}) });
  const session = await LinkSession.start(opened);
  const { port, plan } = opened;
  for (const w of port.warnings) process.stderr.write(`rssplane: warning: ${w}\n`);
  json({
    event: 'up', port: port.port, driver: port.info.driver, mac: opened.mac, link_local: opened.settings.addresses.ipv6 ? session.linkLocal : undefined,
    cores, rx_queues: port.rxQueues, tx_queues: port.txQueues, tx: plan.tx, rss: port.rss,
  });

  const ours = (a: string) => (a.includes(':') ? opened.settings.ip6Text : opened.settings.ipText);
  const report = (address: string, r: ResolveResult) => json({
    event: 'resolve', address, status: r.status,
    ...(r.status === 'resolved' ? { mac: r.mac, next_hop: r.nextHop } : {}),
    ...(r.status === 'failed' ? { next_hop: r.nextHop, probes: r.probes, waited_ms: r.waitedMs } : {}),
    ...(r.status !== 'resolved' ? { message: resolveMessage(address, r, ours(address)) } : {}),
  });
  const resolving: Array<Promise<void>> = [];
  const ask = (address: string) => {
    resolving.push(session.resolve(address).then((r) => report(address, r), () => {}));
  };
  flags.resolve.forEach(ask);

  let stopRequested: () => void = () => {};
  const requested = new Promise<void>((r) => (stopRequested = r));
  process.on('SIGINT', stopRequested);
  process.on('SIGTERM', stopRequested);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === 'stop') stopRequested();
    else if (command === 'resolve' && arg) {
      try {
        parseAddress(arg, 'resolve');
        ask(arg);
      } catch (e) {
        json({ event: 'error', message: (e as Error).message });
      }
    }
  });
  await Promise.race([requested, session.ended]);
  lines.close();
  const result: LinkReport = await session.stop();
  await Promise.all(resolving);
  json({
    event: 'summary', ...result.total, cores: result.cores.map((c) => ({ core: c.core, ...c.stats, tx_sent: c.txSent, tx_dropped: c.txDropped, polled: c.polled, shipped: c.shipped })),
    neighbours: result.cores[0]?.neighbours ?? [], dpdk: result.dpdk,
  });
  process.exit(0);
}

main().catch(failAndExit);
