/**
 * rssplane reta: build an indirection table as `ethtool -X` would and print it as `ethtool -x`
 * does; or parse pasted `ethtool -x` output.
 */
import { Command } from 'commander';
import { formatEthtool, parseEthtool } from '../../core/ethtool.js';
import { invalid } from '../../core/errors.js';
import { formatKey, presetName } from '../../core/key.js';
import { json, out, readInput } from '../io.js';
import { rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';

interface RetaFlags extends RssFlags {
  parse?: string;
  dev: string;
  rings?: string;
  json?: boolean;
}

export function retaCommand(): Command {
  const cmd = new Command('reta')
    .summary('build an indirection table and print it as `ethtool -x` does, or parse that output')
    .description(
      'Fills a table as `ethtool -X DEV equal N` / `weight W0 W1 ...` / `start S` does and prints\n' +
        'it exactly as `ethtool -x DEV` prints it, key and hash function included. With --parse,\n' +
        'reads `ethtool -x` output (pasted from a real NIC, with or without its key section).',
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--parse <file>', 'parse `ethtool -x` output from FILE (- for stdin)')
    .option('--dev <name>', 'device name for the header line', 'eth0')
    .option('--rings <n>', 'RX ring count for the header line (default: queues the table names)')
    .option('--json', 'with --parse: {"size":S,"rings":N,"table":[...],"key":"6d5a..."}')
    .addHelpText('after', '\nExamples:\n  rssplane reta --reta-size 128 --reta equal:6\n  rssplane reta --reta weight:4,2,1,1+start:2\n  ethtool -x eth0 | rssplane reta --parse - --json')
    .action((flags: RetaFlags) => {
      if (flags.parse !== undefined) return parse(flags);
      if (flags.reta === undefined && flags.retaFile === undefined) invalid('usage', 'reta', 'give --reta SPEC (or --parse FILE)');
      const config = rssConfig(flags);
      const reta = config.reta!;
      const rings = wholeNumber(flags.rings, '--rings', reta.queues);
      if (rings < reta.queues) invalid('--rings', flags.rings, `the table names queue ${reta.queues - 1}`);
      out(formatEthtool({ dev: flags.dev, rings, table: reta.table, key: config.key, hfunc: config.hfunc, xfrm: config.xfrm }).trimEnd());
    });
  return cmd;
}

function parse(flags: RetaFlags): void {
  const dev = parseEthtool(readInput(flags.parse!, '--parse').toString('utf8'), '--parse');
  if (flags.json) {
    json({
      size: dev.table.length, rings: dev.rings, table: Array.from(dev.table),
      ...(dev.key ? { key: formatKey(dev.key) } : {}),
      dev: dev.dev,
      ...(dev.hfunc ? { hfunc: dev.hfunc } : {}),
      ...(dev.xfrm ? { xfrm: dev.xfrm } : {}),
    });
    return;
  }
  const counts = new Map<number, number>();
  for (const q of dev.table) counts.set(q, (counts.get(q) ?? 0) + 1);
  out(`${dev.dev}: ${dev.table.length}-entry table over ${dev.rings} RX ring(s)`);
  for (const [q, n] of [...counts].sort((a, b) => a[0] - b[0])) {
    out(`  queue ${String(q).padStart(4)}  ${String(n).padStart(5)} entries  ${((100 * n) / dev.table.length).toFixed(1).padStart(5)}%`);
  }
  if (dev.key) out(`key ${formatKey(dev.key, 'colon')} (${dev.key.length} bytes${presetName(dev.key) ? `, ${presetName(dev.key)}` : ''})`);
  if (dev.hfunc) out(`hash function ${dev.hfunc}${dev.xfrm && dev.xfrm !== 'none' ? `, ${dev.xfrm}` : ''}`);
}
