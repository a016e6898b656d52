/**
 * rssplane key: the presets, and what a key does to a field set (symmetry proved, GF(2) rank).
 */
import { Command } from 'commander';
import { formatKey, KEY_PRESETS, presetName, type KeyPreset } from '../../core/key.js';
import { RssHasher } from '../../core/rss.js';
import type { KeyAnalysis } from '../../core/analysis.js';
import { json, out } from '../io.js';
import { rssConfig, rssOptions, type RssFlags } from '../options.js';

export function keyCommand(): Command {
  const cmd = new Command('key')
    .summary('show key presets, or prove what a key does: symmetric? how many distinct hashes?')
    .description(
      'Analyses a key for a field set. "symmetric" is proved for every tuple, not sampled: the\n' +
        'hash is linear over GF(2), so it is symmetric exactly when each source bit hashes like its\n' +
        'destination bit. "rank" is the dimension of the hashes the field set can produce: 2^rank\n' +
        'distinct hashes exist at all. With no --key given, every preset is shown.',
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' }, false)
    .option('--json', 'print {"symmetric":bool,"rank":R,"distinct_hashes":2^R, ...}')
    .addHelpText('after', '\nExamples:\n  rssplane key\n  rssplane key --key mtcp --fields ipv4-l4 --json\n  rssplane key --key 6d:5a:6d:5a:... --fields ipv6')
    .action(async (flags: RssFlags & { json?: boolean }) => {
      if (cmd.getOptionValueSource('key') !== 'cli') {
        // No key named: the presets, each analysed for the chosen field set.
        const rows = await Promise.all((Object.keys(KEY_PRESETS) as KeyPreset[]).map(async (name) => {
          const rss = await RssHasher.create(rssConfig({ ...flags, key: name }));
          return { name, key: KEY_PRESETS[name], analysis: rss.analyze() };
        }));
        if (flags.json) {
          json({ presets: rows.map((r) => ({ name: r.name, key: formatKey(r.key), ...analysisJson(r.analysis) })) });
        } else {
          for (const r of rows) {
            out(`${r.name.padEnd(10)} ${formatKey(r.key, 'colon')}`);
            out(`${''.padEnd(10)} ${summary(r.analysis)}`);
          }
        }
        return;
      }
      const config = rssConfig(flags);
      const analysis = (await RssHasher.create(config)).analyze();
      if (flags.json) {
        json({ ...analysisJson(analysis), key: formatKey(config.key), key_bytes: config.key.length, hfunc: config.hfunc, xfrm: config.xfrm });
        return;
      }
      out(`key       ${formatKey(config.key, 'colon')} (${config.key.length} bytes${presetName(config.key) ? `, ${presetName(config.key)}` : ''})`);
      out(`function  ${config.hfunc}${config.xfrm === 'none' ? '' : `, ${config.xfrm}`}`);
      out(summary(analysis));
      if (analysis.rank === 0) {
        out();
        out(`WARNING: every ${analysis.fields} flow hashes to the same value: all traffic lands on one queue.`);
        if (config.xfrm === 'symmetric-xor') {
          out('The key is already symmetric (source and destination bits hash alike), and symmetric-xor feeds');
          out('src^dst to both fields, so each contribution cancels itself. Use one or the other, not both.');
        }
      } else if (analysis.rank < 16) {
        out();
        out(`WARNING: this key can produce only ${analysis.distinctHashes} distinct hashes for ${analysis.fields}, whatever the`);
        out('traffic. A table of more entries than that is never fully used, and flows pile onto the');
        out('queues those few hashes select. mTCP and mOS program 0x05 repeated, which has rank 6.');
      }
    });
  return cmd;
}

function analysisJson(a: KeyAnalysis) {
  return { fields: a.fields, symmetric: a.symmetric, rank: a.rank, distinct_hashes: a.distinctHashes, reason: a.reason };
}

function summary(a: KeyAnalysis): string {
  return `${a.fields}: ${a.symmetric ? 'symmetric' : 'not symmetric'}, rank ${a.rank}, ${a.distinctHashes} distinct hashes. ${a.reason}`;
}
