/**
 * rssplane ports: which local ports each core should use to reach a peer, so that the return
 * packets (the SYN-ACK first) land on a queue that core serves.
 */
import { Command } from 'commander';
import { parseAddress, parsePort } from '../../core/addr.js';
import { invalid } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { presetName } from '../../core/key.js';
import { PortPool, type PoolPort } from '../../core/pool.js';
import { QUEUES_MAX } from '../../../assembly/shared/abi.js';
import { json, out } from '../io.js';
import { explicitIn, rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';

interface PortsFlags extends RssFlags {
  src: string;
  srcCount?: string;
  dst: string;
  dport: string;
  cores: string;
  queueCore?: string;
  ports?: string;
  sample?: string;
  json?: boolean;
}

export function portsCommand(): Command {
  const cmd = new Command('ports')
    .summary('RSS-aligned source ports per core (mtcp_init_rss, from the NIC\'s real key and table)')
    .description(
      'For connections from --src to --dst:--dport, lists the local ports of each core: port p of\n' +
        'local address a belongs to core c when the *return* tuple (source --dst:--dport, destination\n' +
        'a:p) hashes into a table entry whose queue core c serves. Queue i is served by core i % C\n' +
        'unless --queue-core gives the map. Asymmetric keys are fine: the tuple the NIC will see is\n' +
        'the one hashed.\n\n' +
        'Without a table, the table is equal:C over 128 entries (one queue per core: mTCP\'s\n' +
        'assumption). Pass the NIC\'s own with --reta-file (pasted `ethtool -x`), which brings its key.',
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .requiredOption('--src <addr>', 'first local address (IPv4 or IPv6)')
    .option('--src-count <n>', 'consecutive local addresses from --src (mTCP\'s num_addr)', '1')
    .requiredOption('--dst <addr>', 'the peer\'s address')
    .requiredOption('--dport <port>', 'the peer\'s port')
    .requiredOption('--cores <n>', 'cores sharing the ports (one pool each)')
    .option('--queue-core <list>', 'queue -> core map, one core per queue: 0,0,1,1 (default: queue i on core i % C)')
    .option('--ports <lo-hi>', 'local port range', '1025-65535')
    .option('--sample <n>', 'ports shown per core in the table', '8')
    .option('--json', 'print {"cores":[{"core":0,"count":n,"ports":[...]}, ...]} (ports as "ADDR:PORT" with --src-count > 1)')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane ports --src 10.0.0.2 --dst 10.0.0.1 --dport 80 --cores 4\n' +
      '  rssplane ports --src 10.0.0.2 --src-count 4 --dst 10.0.0.1 --dport 443 --cores 16 --reta-size 512 --json\n' +
      '  rssplane ports --src fd00::2 --dst fd00::1 --dport 8080 --cores 6 --key symmetric\n' +
      '  ethtool -x eth0 > eth0.txt; rssplane ports --src 10.0.0.2 --dst 10.0.0.1 --dport 80 --cores 8 --reta-file eth0.txt')
    .action(async (flags: PortsFlags) => {
      const explicit = explicitIn(cmd);
      const src = parseAddress(flags.src, '--src');
      const dst = parseAddress(flags.dst, '--dst');
      if (dst.family !== src.family) invalid('--dst', flags.dst, `--src is IPv${src.family}; the peer must be too`);
      // Without --fields, the addresses say which l4 field set the NIC hashes.
      const fields = explicit('fields') ? flags.fields! : src.family === 6 ? 'ipv6-l4' : 'ipv4-l4';
      if (fields !== 'ipv4-l4' && fields !== 'ipv6-l4') invalid('--fields', fields, 'a port pool needs the ports in the hash: ipv4-l4 or ipv6-l4');
      if (FIELD_SETS[fields].family !== src.family) invalid('--src', flags.src, `--fields ${fields} takes IPv${FIELD_SETS[fields].family} addresses`);
      const cores = wholeNumber(flags.cores, '--cores', 1);
      if (cores > QUEUES_MAX) invalid('--cores', flags.cores, `at most ${QUEUES_MAX}`);
      const srcCount = wholeNumber(flags.srcCount, '--src-count', 1);
      const sample = wholeNumber(flags.sample, '--sample', 8, 0);
      const config = rssConfig({ ...flags, fields, reta: flags.reta ?? (flags.retaFile === undefined ? `equal:${cores}` : undefined) }, explicit);
      const pool = await PortPool.create(config, {
        src: src.bytes, srcCount, dst: dst.bytes, dport: parsePort(flags.dport, '--dport'), cores,
        queueCore: flags.queueCore === undefined ? undefined : parseMap(flags.queueCore),
        ports: parseRange(flags.ports ?? '1025-65535'),
      });
      if (flags.json) return printJson(pool);
      printTable(pool, sample, flags);
    });
  return cmd;
}

function parseRange(text: string): [number, number] {
  const m = /^\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*$/.exec(text);
  if (!m) invalid('--ports', text, 'expected LO-HI, as 1025-65535');
  const lo = Number(m[1]), hi = Number(m[2]);
  if (hi > 65535 || lo > hi) invalid('--ports', text, 'expected LO-HI with LO <= HI <= 65535');
  return [lo, hi];
}

function parseMap(text: string): number[] {
  const parts = text.split(',');
  const bad = parts.find((p) => !/^\s*[0-9]+\s*$/.test(p));
  if (bad !== undefined) invalid('--queue-core', text, `"${bad}" is not a core number; give one core per queue, as 0,0,1,1`);
  return parts.map(Number);
}

function label(pool: PortPool): (p: PoolPort) => number | string {
  if (pool.srcCount === 1) return (p) => p.port;
  return (p) => (pool.src.length === 16 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`);
}

function printJson(pool: PortPool): void {
  const show = label(pool);
  const reta = pool.config.reta!;
  json({
    cores: Array.from({ length: pool.cores }, (_, c) => {
      const core = pool.core(c);
      return { core: c, count: core.size, ports: Array.from(core.ports(), show) };
    }),
    range: pool.range,
    src_count: pool.srcCount,
    reta_size: reta.size,
    queues: reta.queues,
    port_rank: pool.portRank,
    fields: pool.config.fields,
    hfunc: pool.config.hfunc,
    xfrm: pool.config.xfrm,
  });
}

function printTable(pool: PortPool, sample: number, flags: PortsFlags): void {
  const reta = pool.config.reta!;
  const config = pool.config;
  const show = label(pool);
  const total = pool.srcCount * (pool.range[1] - pool.range[0] + 1);
  const key = presetName(config.key) ?? `${config.key.length}-byte key`;
  const peer = pool.src.length === 16 ? `[${flags.dst}]:${flags.dport}` : `${flags.dst}:${flags.dport}`;
  const locals = pool.srcCount === 1 ? pool.address(0) : `${pool.address(0)} .. ${pool.address(pool.srcCount - 1)} (${pool.srcCount} addresses)`;
  out(`local ${locals}, ports ${pool.range[0]}-${pool.range[1]}  ->  peer ${peer}`);
  out(`hash  ${config.hfunc}, ${config.fields}, ${key}${config.xfrm === 'none' ? '' : `, ${config.xfrm}`}; ${reta.size}-entry table over ${reta.queues} queue(s); ${pool.cores} core(s)`);
  out();
  const queuesOf = (c: number) => Array.from(pool.queueCore.subarray(0, reta.queues)).flatMap((core, q) => (core === c ? [q] : []));
  const rows = Array.from({ length: pool.cores }, (_, c) => {
    const core = pool.core(c);
    const ports: Array<number | string> = [];
    if (sample > 0) {
      for (const p of core.ports()) {
        ports.push(show(p));
        if (ports.length >= sample) break;
      }
    }
    return { core: c, queues: queuesOf(c), size: core.size, ports };
  });
  const queueText = (qs: number[]) => (qs.length > 4 ? `${qs.slice(0, 3).join(',')},..(${qs.length})` : qs.join(',') || '-');
  const qWidth = Math.max(6, ...rows.map((r) => queueText(r.queues).length));
  out(`core  ${'queues'.padEnd(qWidth)}  ${'ports'.padStart(8)}   share  ${sample > 0 ? 'first ports' : ''}`.trimEnd());
  for (const r of rows) {
    const share = `${((100 * r.size) / total).toFixed(2)}%`;
    out(`${String(r.core).padStart(4)}  ${queueText(r.queues).padEnd(qWidth)}  ${String(r.size).padStart(8)}  ${share.padStart(6)}  ${r.ports.join(' ')}${r.ports.length && r.size > r.ports.length ? ' ...' : ''}`.trimEnd());
  }
  const sizes = rows.map((r) => r.size);
  const min = Math.min(...sizes), max = Math.max(...sizes), mean = total / pool.cores;
  out();
  out(`balance  min ${min} (core ${sizes.indexOf(min)}), max ${max} (core ${sizes.indexOf(max)}), max/mean ${(max / mean).toFixed(3)}`);
  const bits = Math.log2(reta.size);
  if (pool.portRank < bits) {
    out();
    out(`NOTE: from one address the port reaches only ${2 ** pool.portRank} of the ${reta.size} table entries (rank ${pool.portRank} of ${bits}):`);
    out('the key repeats too soon for the port bits to move the table index freely (mTCP\'s 0x05 key does this).');
  }
  const empty = rows.filter((r) => r.size === 0).map((r) => r.core);
  if (empty.length) {
    out();
    out(`WARNING: core${empty.length > 1 ? 's' : ''} ${empty.join(', ')} get${empty.length > 1 ? '' : 's'} no port at all: connections opened there will have their`);
    out('SYN-ACKs land on another core. Use a key with more rank, another table, or more local addresses.');
  }
}
