/**
 * rssplane dpdk info: what a DPDK port offers (queues, RSS hash types, key size, table size),
 * and with --configure, the key and table it really takes when asked for ours.
 */
import { Command } from 'commander';
import { formatEthtool } from '../../core/ethtool.js';
import { RssplaneError } from '../../core/errors.js';
import { formatKey } from '../../core/key.js';
import { json, out } from '../io.js';
import { explicitIn, rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';
import {
  closePort, initEal, loadDpdk, native, rssTypeNames, setUpPort, splitEal, type DpdkAddon, type DpdkPortInfo,
} from '../sources/dpdk.js';

interface InfoFlags extends RssFlags {
  eal: string;
  port?: string;
  configure?: string;
  json?: boolean;
}

export function dpdkCommand(): Command {
  const dpdk = new Command('dpdk')
    .summary('DPDK ports: what they offer for RSS, and what they take')
    .description('DPDK ports, through the native shim (built when libdpdk-dev is installed).');
  const info = new Command('info')
    .summary('what a port offers (queues, RSS hash types, key and table sizes), and what it takes')
    .description(
      'Initialises DPDK\'s EAL with --eal and describes each port (or --port N):\n' +
        'driver, queue limits, the RSS hash types it offers, its key size and its\n' +
        'indirection table size.\n\n' +
        'With --configure N, the port is configured with N receive queues and the\n' +
        'RSS options (--key, --fields, --reta...), started, and the key and table it\n' +
        'really uses are read back (rte_eth_dev_rss_hash_conf_get,\n' +
        'rte_eth_dev_rss_reta_query) and printed as `ethtool -x` prints them: what\n' +
        '`rssplane run --input dpdk` hashes with. A port that refuses a key, or has a\n' +
        'table of another size, shows it here.',
    );
  rssOptions(info, { key: 'microsoft', fields: 'ipv4-l4' })
    .requiredOption('--eal <args>', 'DPDK EAL arguments, quoted as one')
    .option('--port <n>', 'only this port')
    .option('--configure <queues>', 'configure the port with RSS over this many receive queues, and read back its key and table')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane dpdk info --eal "--no-huge -m 512 --no-pci --vdev net_null0"\n' +
      '  rssplane dpdk info --eal "-a 0000:3b:00.0" --configure 8 --key symmetric --reta equal:8\n' +
      '  rssplane dpdk info --eal "--no-huge -m 512 --no-pci --vdev net_pcap0,rx_pcap=a.pcap" --json')
    .action((flags: InfoFlags) => {
      const addon = loadDpdk();
      const { ports, notes } = initEal(addon, splitEal(flags.eal));
      const wanted = flags.port === undefined ? Array.from({ length: ports }, (_, p) => p) : [wholeNumber(flags.port, '--port', 0, 0)];
      if (wanted.length === 0) {
        throw new RssplaneError('ENODEV', `EAL found no DPDK port (${notes[0] ?? 'give a --vdev, or bind a NIC to vfio-pci'})`, '--eal');
      }
      const described = wanted.map((p) => describe(addon, p, ports, notes));
      if (flags.configure === undefined) {
        if (flags.json) return json({ ports: described.map(portJson) });
        described.forEach(print);
        return;
      }
      if (described.length !== 1) throw new RssplaneError('EINVAL', 'bad --configure: give --port N too when EAL found several ports', '--configure');
      const queues = wholeNumber(flags.configure, '--configure', 1);
      const asked = rssConfig(flags.reta === undefined && flags.retaFile === undefined ? { ...flags, reta: `equal:${queues}` } : flags, explicitIn(info));
      const port = setUpPort(addon, described[0]!.port, asked, { cores: queues, rxQueues: queues });
      const reta = port.config.reta!;
      const result = {
        ...portJson(described[0]!),
        configured: {
          rx_queues: port.rxQueues, rss: port.rss, key: formatKey(port.config.key), reta_size: reta.size, reta: Array.from(reta.table),
          key_as_asked: sameKey(port.config.key, asked.key), reta_as_asked: sameTable(reta.table, asked.reta!.table),
        },
        warnings: port.warnings,
      };
      closePort(addon, port.port);
      addon.cleanup();
      if (flags.json) return json(result);
      print(described[0]!);
      out();
      if (port.rss === 'software') {
        out(`with ${queues} receive queue(s): no RSS in the device; rssplane spreads by software RSS with the options given`);
      } else {
        out(`configured with ${port.rxQueues} receive queues; the port reports (as \`ethtool -x\` prints it):`);
        out(formatEthtool({ dev: `port${port.port}`, rings: port.rxQueues, table: reta.table, key: port.config.key, hfunc: 'toeplitz', xfrm: 'none' }).trimEnd());
        out();
        out(`key ${result.configured.key_as_asked ? 'as asked' : 'DIFFERS from the one asked for'}; table ${result.configured.reta_as_asked ? 'as asked' : 'DIFFERS from the one asked for'}`);
      }
      for (const w of port.warnings) out(`note: ${w}`);
    });
  dpdk.addCommand(info);
  return dpdk;
}

function describe(addon: DpdkAddon, port: number, ports: number, notes: string[]): DpdkPortInfo {
  try {
    return native(() => addon.portInfo(port));
  } catch (e) {
    if (!(e instanceof RssplaneError) || e.code !== 'ENODEV') throw e;
    const why = ports ? `EAL found ${ports} port${ports > 1 ? 's' : ''}` : `EAL found no port (${notes[0] ?? 'give a --vdev, or bind a NIC to vfio-pci'})`;
    throw new RssplaneError('ENODEV', `bad --port "${port}": no such DPDK port; ${why}`, '--port');
  }
}

/** A key the device took, compared on the bytes the asked key has (a 52-byte key extends ours). */
function sameKey(device: Uint8Array, asked: Uint8Array): boolean {
  return asked.every((b, i) => device[i] === b);
}

/** Same queue for every hash: entry i of each table, over the larger size. */
function sameTable(device: Uint16Array, asked: Uint16Array): boolean {
  const n = Math.max(device.length, asked.length);
  for (let i = 0; i < n; i++) if (device[i % device.length] !== asked[i % asked.length]) return false;
  return true;
}

function portJson(p: DpdkPortInfo) {
  return {
    port: p.port, name: p.name, driver: p.driver, mac: p.mac, socket: p.socket,
    max_rx_queues: p.maxRxQueues, max_tx_queues: p.maxTxQueues,
    rss_hash_types: rssTypeNames(p.rssHashTypes), hash_key_size: p.hashKeySize, reta_size: p.retaSize,
    rx_descriptors_max: p.rxDescriptorsMax, tx_descriptors_max: p.txDescriptorsMax,
  };
}

function print(p: DpdkPortInfo): void {
  const types = rssTypeNames(p.rssHashTypes);
  out(`port ${p.port}  ${p.name}  driver ${p.driver}${p.mac ? `  mac ${p.mac}` : ''}`);
  out(`  queues           receive up to ${p.maxRxQueues}, transmit up to ${p.maxTxQueues}`);
  out(`  RSS hash types   ${types.length ? types.join(', ') : 'none: no RSS (rssplane spreads its packets by software RSS)'}`);
  out(`  RSS key          ${p.hashKeySize ? `${p.hashKeySize} bytes` : 'size not reported'}`);
  out(`  indirection      ${p.retaSize ? `${p.retaSize} entries` : 'no table'}`);
}
