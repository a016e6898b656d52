/**
 * rssplane hash: the hash (and queue) of one tuple, or of a file of tuples through the batch path.
 */
import { Command } from 'commander';
import { parseAddress, parsePort } from '../../core/addr.js';
import { invalid } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { presetName } from '../../core/key.js';
import { RssHasher } from '../../core/rss.js';
import { json, out, readInput } from '../io.js';
import { explicitIn, rssConfig, rssOptions, type RssFlags } from '../options.js';

const hex32 = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;

interface HashFlags extends RssFlags {
  src?: string;
  dst?: string;
  sport?: string;
  dport?: string;
  batch?: string;
  json?: boolean;
}

export function hashCommand(): Command {
  const cmd = new Command('hash')
    .summary('hash a tuple (or a file of tuples) as the NIC does')
    .description(
      'Computes the RSS hash a NIC computes for a flow: Toeplitz (or XOR) over source address,\n' +
        'destination address and, for the -l4 field sets, source and destination port, in network\n' +
        'byte order. With a table (--reta or --reta-file) it also gives the queue.\n\n' +
        'Batch mode reads one tuple a line, "SRC DST" or "SRC DST SPORT DPORT" (ports are ignored\n' +
        'by field sets without them), and prints one 0x%08x hash a line, in order.',
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--src <addr>', 'source address (IPv4 or IPv6)')
    .option('--dst <addr>', 'destination address')
    .option('--sport <port>', 'source port (ipv4-l4, ipv6-l4)')
    .option('--dport <port>', 'destination port (ipv4-l4, ipv6-l4)')
    .option('--batch <file>', 'hash every line of FILE (- for stdin) through the WASM batch path')
    .option('--json', 'print JSON: {"hash":"0x...", "queue": N, ...}')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane hash --key microsoft --fields ipv4-l4 --src 66.9.149.187 --dst 161.142.100.80 --sport 2794 --dport 1766\n' +
      '  rssplane hash --key symmetric --fields ipv6 --src 2001:db8::1 --dst 2001:db8::2 --reta equal:8 --json\n' +
      '  rssplane hash --fields ipv4-l4 --batch flows.txt')
    .action(async (flags: HashFlags) => {
      const config = rssConfig(flags, explicitIn(cmd));
      const rss = await RssHasher.create(config);
      if (flags.batch !== undefined) return hashBatchFile(rss, flags.batch);
      if (flags.src === undefined || flags.dst === undefined) invalid('usage', 'hash', 'give --src and --dst, or --batch FILE');
      const hash = rss.hash({ src: flags.src, dst: flags.dst, sport: port(flags.sport, '--sport'), dport: port(flags.dport, '--dport') });
      const reta = config.reta;
      const index = reta ? hash & (reta.size - 1) : undefined;
      if (flags.json) {
        json({
          hash: hex32(hash),
          ...(reta ? { queue: reta.queueOf(hash), index, reta_size: reta.size } : {}),
          fields: config.fields, hfunc: config.hfunc, xfrm: config.xfrm,
        });
      } else {
        const key = presetName(config.key) ?? `${config.key.length}-byte key`;
        out(`hash   ${hex32(hash)}   (${config.hfunc}, ${config.fields}, ${key}${config.xfrm === 'none' ? '' : `, ${config.xfrm}`})`);
        if (reta) out(`queue  ${reta.queueOf(hash)}   (table entry ${index} of ${reta.size}: the hash's low ${Math.log2(reta.size)} bits)`);
      }
    });
  return cmd;
}

function port(text: string | undefined, subject: string): number | undefined {
  return text === undefined ? undefined : parsePort(text, subject);
}

/** Parses every line into engine memory first, then hashes in one batch call, then prints. */
function hashBatchFile(rss: RssHasher, path: string): void {
  const fields = rss.config.fields;
  const info = FIELD_SETS[fields];
  const lines = readInput(path, '--batch').toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const batch = rss.batch(Math.max(lines.length, 1));
  const tuples = batch.tuples;
  lines.forEach((line, i) => {
    const where = `--batch line ${i + 1}`;
    const words = line.trim().split(/\s+/);
    if (words.length !== 2 && words.length !== 4) invalid(where, line, 'expected "SRC DST" or "SRC DST SPORT DPORT"');
    const p = i * info.inputLength;
    for (const [w, at] of [[0, 0], [1, info.addressLength]] as const) {
      const a = parseAddress(words[w]!, `${where} address`);
      if (a.family !== info.family) invalid(where, words[w], `field set ${fields} takes IPv${info.family} addresses`);
      tuples.set(a.bytes, p + at);
    }
    if (info.ports) {
      if (words.length !== 4) invalid(where, line, `field set ${fields} needs SPORT and DPORT`);
      const sport = parsePort(words[2]!, `${where} source port`);
      const dport = parsePort(words[3]!, `${where} destination port`);
      const q = p + 2 * info.addressLength;
      tuples[q] = sport >> 8;
      tuples[q + 1] = sport & 0xff;
      tuples[q + 2] = dport >> 8;
      tuples[q + 3] = dport & 0xff;
    }
  });
  batch.run(lines.length);
  const hashes = batch.hashes;
  const text = new Array<string>(lines.length);
  for (let i = 0; i < lines.length; i++) text[i] = hex32(hashes[i]!);
  if (lines.length) out(text.join('\n'));
  batch.free();
}
