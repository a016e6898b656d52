/**
 * The RSS options every command shares, turned into the one RssConfig everything else takes.
 */
import { Option, type Command } from 'commander';
import { parseEthtool } from '../core/ethtool.js';
import { invalid } from '../core/errors.js';
import type { FieldSetName, HashFunctionName, TransformName } from '../core/fields.js';
import { parseKey } from '../core/key.js';
import { DEFAULT_RETA_SIZE, Reta } from '../core/reta.js';
import { RssConfig } from '../core/rss.js';
import { readInput } from './io.js';
import { grouped } from '../core/format.js';

export interface RssFlags {
  key?: string;
  fields?: string;
  hfunc?: string;
  xfrm?: string;
  reta?: string;
  retaSize?: string;
  retaFile?: string;
}

/** Adds --key --fields --hfunc --xfrm (and, with `table`, --reta --reta-size --reta-file). */
export function rssOptions(cmd: Command, defaults: { key: string; fields: FieldSetName }, table = true): Command {
  cmd
    .addOption(new Option('--key <key>', 'RSS key: microsoft, symmetric, mtcp, or hex (6d5a56da... or 6d:5a:56:...)').default(defaults.key))
    .addOption(new Option('--fields <set>', 'hash input: ipv4, ipv4-l4, ipv6, ipv6-l4 (l4 adds TCP/UDP ports)').default(defaults.fields))
    .addOption(new Option('--hfunc <name>', 'hash function: toeplitz or xor').default('toeplitz'))
    .addOption(new Option('--xfrm <name>', 'input transform: none, symmetric-xor, symmetric-or-xor').default('none'));
  if (table) {
    cmd
      .option('--reta <spec>', 'indirection table: equal:N or weight:W0,W1,... [+start:S]')
      .option('--reta-size <n>', `table entries, a power of two (default ${DEFAULT_RETA_SIZE})`)
      .option('--reta-file <file>', 'table (and key, hash function) from `ethtool -x` output; - for stdin');
  }
  return cmd;
}

/**
 * A whole number flag from `min` to `max` (by default the largest a JavaScript number holds
 * exactly). The message names the range the value left.
 */
export function wholeNumber(text: string | undefined, subject: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < min) invalid(subject, text, `expected a whole number >= ${min}`);
  if (Number(text) > max) invalid(subject, text, `at most ${grouped(max)}`);
  return Number(text);
}

/**
 * The RssConfig for these flags. A --reta-file brings its table, and its key and hash function
 * unless --key/--hfunc were given on the command line (a device's truth beats our defaults).
 */
export function rssConfig(flags: RssFlags, explicit: (name: string) => boolean = () => true): RssConfig {
  let key = flags.key === undefined ? undefined : parseKey(flags.key);
  let hfunc = flags.hfunc as HashFunctionName | undefined;
  let xfrm = flags.xfrm as TransformName | undefined;
  let reta: Reta | undefined;
  const size = wholeNumber(flags.retaSize, '--reta-size', DEFAULT_RETA_SIZE);
  if (flags.retaFile !== undefined) {
    if (flags.reta !== undefined) invalid('--reta', flags.reta, 'give --reta or --reta-file, not both');
    const dev = parseEthtool(readInput(flags.retaFile, '--reta-file').toString('utf8'), '--reta-file');
    reta = new Reta(dev.table);
    if (dev.key && !explicit('key')) key = dev.key;
    if (dev.hfunc && !explicit('hfunc')) {
      if (dev.hfunc === 'crc32') invalid('--reta-file', flags.retaFile, 'the device hashes with crc32, which rssplane does not model');
      hfunc = dev.hfunc;
    }
    if (dev.xfrm && !explicit('xfrm')) xfrm = dev.xfrm;
  } else if (flags.reta !== undefined) {
    reta = Reta.parse(flags.reta, size);
  } else if (flags.retaSize !== undefined) {
    invalid('--reta-size', flags.retaSize, 'give --reta too');
  }
  return RssConfig.from({ key, fields: flags.fields as FieldSetName, hfunc, xfrm, reta });
}

/** Whether the user set an option on the command line (not just its default). */
export function explicitIn(cmd: Command): (name: string) => boolean {
  return (name) => cmd.getOptionValueSource(name) === 'cli';
}

/** The DPDK options of `run --input dpdk`, and of the link layer (connect, serve). */
export interface DpdkFlags {
  eal?: string;
  port: string;
  rxQueues?: string;
  dpdkIdle: string;
}

/**
 * Adds --eal, --port, --rx-queues, --dpdk-idle. `scope` starts each help line ("dpdk: " where
 * the options apply only with one input).
 */
export function dpdkOptions(cmd: Command, scope = ''): Command {
  return cmd
    .option('--eal <args>', `${scope}DPDK EAL arguments, quoted as one (e.g. "--no-huge -m 512 --no-pci --vdev net_pcap0,rx_pcap=a.pcap")`)
    .option('--port <n>', `${scope}the DPDK port`, '0')
    .option('--rx-queues <n>', `${scope}receive queues (default: the table's queues with RSS; without, one per core, net_pcap one per file)`)
    .option('--dpdk-idle <ms>', `${scope}a core ends its input when its queues stay empty this long; 0: only Ctrl-C (default: 300 for net_pcap files, else 0)`, 'auto');
}

/** --dpdk-idle in ms: `auto` is 300 for a port that reads files (net_pcap), 0 (never) for others. */
export function dpdkIdleMs(flags: DpdkFlags, readsFiles: boolean): number {
  return flags.dpdkIdle === 'auto' ? (readsFiles ? 300 : 0) : wholeNumber(flags.dpdkIdle, '--dpdk-idle', 0, 0);
}
