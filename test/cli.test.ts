/**
 * The CLI contracts of MISSION.md (shapes outside tools rely on), and every user mistake the
 * foundation can meet.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatKey, IPV4_VECTORS, IPV6_VECTORS, KEY_PRESETS } from '../host/core/index.js';
import { spawnSync } from 'node:child_process';
import { CLI, expectUsageError, rssplane } from './helpers/cli.js';
import { reflow } from '../host/node/io.js';

const tmp = mkdtempSync(join(tmpdir(), 'rssplane-cli-'));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const hex32 = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;
const v = IPV4_VECTORS[0]!;
const flags = ['--src', v.src, '--dst', v.dst, '--sport', String(v.sport), '--dport', String(v.dport)];

describe('rssplane hash', () => {
  it('--json: {"hash":"0x51ccc178"} for the first Microsoft vector', () => {
    const r = rssplane(['hash', '--key', 'microsoft', '--fields', 'ipv4-l4', ...flags, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ hash: '0x51ccc178' });
  });

  it('--json with a table adds the queue (the low 7 bits index a 128-entry table)', () => {
    const r = rssplane(['hash', '--key', formatKey(KEY_PRESETS.microsoft, 'colon'), '--fields', 'ipv4-l4', ...flags, '--reta', 'equal:6', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ hash: '0x51ccc178', queue: (0x51ccc178 & 127) % 6, index: 0x51ccc178 & 127 });
  });

  it('--reta-file takes the table, key and function of pasted ethtool -x output', () => {
    const reta = rssplane(['reta', '--reta', 'weight:1,3', '--reta-size', '64', '--key', 'symmetric']).stdout;
    const r = rssplane(['hash', '--fields', 'ipv4', '--src', '10.0.0.1', '--dst', '10.0.0.2', '--reta-file', file('eth.txt', reta), '--json']);
    const s = rssplane(['hash', '--key', 'symmetric', '--fields', 'ipv4', '--src', '10.0.0.1', '--dst', '10.0.0.2', '--reta', 'weight:1,3', '--reta-size', '64', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(s.stdout));
  });

  it('the human output names hash and queue', () => {
    const r = rssplane(['hash', ...flags, '--reta', 'equal:4']);
    expect(r.stdout).toMatch(/^hash\s+0x51ccc178/m);
    expect(r.stdout).toMatch(/^queue\s+\d/m);
  });

  it('--batch: one 0x%08x line per input line, in order, nothing else (IPv6 too, stdin too)', () => {
    const lines4 = IPV4_VECTORS.map((x) => `${x.src} ${x.dst}\t${x.sport}  ${x.dport}`).join('\n');
    const r4 = rssplane(['hash', '--fields', 'ipv4-l4', '--batch', file('b4.txt', `${lines4}\n`)]);
    expect(r4.stdout).toBe(IPV4_VECTORS.map((x) => hex32(x.withPorts)).join('\n') + '\n');
    const lines6 = IPV6_VECTORS.map((x) => `${x.src} ${x.dst} ${x.sport} ${x.dport}`).join('\r\n');
    const r6 = rssplane(['hash', '--fields', 'ipv6', '--batch', '-'], { input: lines6 });
    expect(r6.stdout).toBe(IPV6_VECTORS.map((x) => hex32(x.addresses)).join('\n') + '\n');
  });

  it('--batch of 100,000 lines matches the single-tuple command on a sample', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255} 192.168.1.1 ${1024 + (i % 60000)} 443`);
    const r = rssplane(['hash', '--key', 'symmetric', '--batch', file('big.txt', lines.join('\n'))]);
    const out = r.stdout.trimEnd().split('\n');
    expect(out.length).toBe(100_000);
    for (const i of [0, 4242, 99_999]) {
      const [src, dst, sport, dport] = lines[i]!.split(' ');
      const one = rssplane(['hash', '--key', 'symmetric', '--src', src!, '--dst', dst!, '--sport', sport!, '--dport', dport!, '--json']);
      expect(out[i]).toBe(JSON.parse(one.stdout).hash);
    }
  });
});

describe('rssplane key', () => {
  it('--json: mtcp is symmetric with rank 6 and 64 distinct hashes', () => {
    const r = rssplane(['key', '--key', 'mtcp', '--fields', 'ipv4-l4', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ symmetric: true, rank: 6, distinct_hashes: 64 });
  });

  it('--json: microsoft is not symmetric, full rank', () => {
    expect(JSON.parse(rssplane(['key', '--key', 'microsoft', '--fields', 'ipv6-l4', '--json']).stdout)).toMatchObject(
      { symmetric: false, rank: 32, distinct_hashes: 2 ** 32 });
  });

  it('warns loudly about a low-rank key', () => {
    expect(rssplane(['key', '--key', 'mtcp']).stdout).toContain('WARNING: this key can produce only 64 distinct hashes');
    expect(rssplane(['key', '--key', 'symmetric', '--xfrm', 'symmetric-xor']).stdout).toContain('every ipv4-l4 flow hashes to the same value');
  });

  it('with no key lists the presets, analysed', () => {
    const r = JSON.parse(rssplane(['key', '--json']).stdout);
    expect(r.presets.map((p: { name: string; rank: number }) => [p.name, p.rank])).toEqual([['microsoft', 32], ['symmetric', 16], ['mtcp', 6]]);
  });
});

describe('rssplane reta', () => {
  it('prints the table exactly as ethtool -x does', () => {
    const r = rssplane(['reta', '--reta-size', '16', '--reta', 'equal:3', '--dev', 'ens1']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('RX flow hash indirection table for ens1 with 3 RX ring(s):');
    expect(lines[1]).toBe('    0:      0     1     2     0     1     2     0     1');
    expect(lines[2]).toBe('    8:      2     0     1     2     0     1     2     0');
    expect(lines[3]).toBe('RSS hash key:');
    expect(lines[4]).toBe(formatKey(KEY_PRESETS.microsoft, 'colon'));
  });

  it('--parse --json round-trips what it printed: {"size","rings","table","key"}', () => {
    const printed = rssplane(['reta', '--reta-size', '512', '--reta', 'weight:2,1,1+start:1', '--key', 'symmetric']).stdout;
    const parsed = JSON.parse(rssplane(['reta', '--parse', '-', '--json'], { input: printed }).stdout);
    expect(parsed.size).toBe(512);
    expect(parsed.rings).toBe(4);
    expect(parsed.key).toBe(formatKey(KEY_PRESETS.symmetric));
    expect(parsed.table.filter((q: number) => q === 1).length).toBe(256);
    expect(parsed.table.slice(-1)).toEqual([3]);
  });

  it('--parse of a table without a key section has no "key"', () => {
    const text = 'RX flow hash indirection table for eth0 with 2 RX ring(s):\n    0:      0     1     1     0\n';
    const parsed = JSON.parse(rssplane(['reta', '--parse', file('nokey.txt', text), '--json']).stdout);
    expect(parsed).toEqual({ size: 4, rings: 2, table: [0, 1, 1, 0], dev: 'eth0' });
  });
});

describe('user mistakes: one line on stderr naming the value, exit 2, nothing on stdout', () => {
  it.each([
    ['bad hex', ['hash', '--key', '6d5x', ...flags], '6d5x'],
    ['short key', ['hash', '--key', '6d5a6d5a', ...flags], 'needs a key of at least 16 bytes'],
    ['short key for ipv6-l4', ['hash', '--key', 'ab'.repeat(39), '--fields', 'ipv6-l4', '--src', '::1', '--dst', '::2', '--sport', '1', '--dport', '2'], 'at least 40 bytes'],
    ['bad address', ['hash', '--src', '10.0.0.300', '--dst', '1.1.1.1', '--sport', '1', '--dport', '2'], '10.0.0.300'],
    ['wrong family', ['hash', '--fields', 'ipv4', '--src', '::1', '--dst', '::2'], 'takes IPv4 addresses'],
    ['port out of range', ['hash', ...flags.slice(0, 6), '--dport', '70000'], '70000'],
    ['missing port', ['hash', '--src', '1.1.1.1', '--dst', '2.2.2.2'], 'needs a source and a destination port'],
    ['unknown field set', ['hash', '--fields', 'ipv4-tcp', ...flags], 'ipv4-tcp'],
    ['unknown hash function', ['hash', '--hfunc', 'crc32', ...flags], 'crc32'],
    ['unknown transform', ['hash', '--xfrm', 'sym', ...flags], '"sym"'],
    ['weights summing to zero', ['reta', '--reta', 'weight:0,0'], 'at least one weight must be non-zero'],
    ['weights exceeding the table', ['reta', '--reta-size', '64', '--reta', 'weight:50,50'], 'exceeds the table size 64'],
    ['table size not a power of two', ['reta', '--reta-size', '100', '--reta', 'equal:4'], '"100"'],
    ['missing --reta', ['reta'], 'give --reta'],
    ['missing file', ['reta', '--parse', join(tmp, 'nope.txt')], 'nope.txt'],
    ['not ethtool output', ['reta', '--parse', file('junk.txt', 'hello\n')], 'no "RX flow hash indirection table'],
    ['unknown option', ['hash', '--colour'], '--colour'],
    ['unknown command', ['hashes'], 'hashes'],
    ['hash without tuple', ['hash'], 'give --src and --dst'],
  ])('%s', (_, args, names) => {
    expectUsageError(rssplane(args), names);
  });

  it('a bad --batch line is named by number, and no hashes are printed', () => {
    const r = rssplane(['hash', '--batch', '-'], { input: '1.1.1.1 2.2.2.2 1 2\n1.1.1.1 2.2.2.2 1\n' });
    expectUsageError(r, '--batch line 2');
    expectUsageError(rssplane(['hash', '--batch', '-'], { input: '1.1.1.1 2.2.2.999 1 2\n' }), '2.2.2.999');
  });
});

it('rssplane --version (and -V) prints the package\'s version and exits 0', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = rssplane([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  }
});

it('rssplane --help and COMMAND --help exit 0 and explain', () => {
  const r = rssplane(['--help']);
  expect(r.status).toBe(0);
  for (const c of ['hash', 'key', 'reta', 'bench', 'demo']) expect(r.stdout).toContain(c);
  const h = rssplane(['hash', '--help']);
  expect(h.status).toBe(0);
  expect(h.stdout).toContain('--batch');
  expect(h.stdout).toContain('Examples');
});

it('help text reads as paragraphs at 80 columns: a paragraph\'s lines are joined before wrapping, examples and lists keep their breaks', () => {
  expect(reflow('one line\nand its rest.\n\nNext paragraph:\n- a list item\n  continued\n- another\n\nExamples:\n  rssplane run\n  rssplane hash'))
    .toBe('one line and its rest.\n\nNext paragraph:\n- a list item\n  continued\n- another\n\nExamples:\n  rssplane run\n  rssplane hash');
  // Piped, commander wraps to 80 columns: no line of a description's prose may be cut short
  // only to be followed by more of the same sentence (a word that would have fit).
  for (const command of ['key', 'hash', 'run', 'ports', 'advise']) {
    const help = rssplane([command, '--help']).stdout;
    const prose = help.split('\nOptions:')[0]!.split('\n').slice(2);
    prose.forEach((line, i) => {
      const next = prose[i + 1] ?? '';
      if (line === '' || next === '' || /^\s|^[-*] /.test(next) || /^\s/.test(line) || /:$/.test(line)) return;
      expect(line.length + 1 + next.split(' ')[0]!.length, `${command} --help: "${line}" then "${next}"`).toBeGreaterThan(80);
    });
  }
});

it('rssplane demo computes what it shows: every published vector ok, mtcp rank 6', () => {
  const r = rssplane(['demo', '--flows', '20000']);
  expect(r.status).toBe(0);
  expect(r.stdout.match(/ ok /g)?.length).toBe(8);
  expect(r.stdout).not.toContain('MISMATCH');
  expect(r.stdout).toMatch(/mtcp\s+symmetric\s+rank\s+6\s+64 distinct hashes/);
});

it('a reader that closes the pipe early (rssplane ... | head) is not an error', () => {
  const r = spawnSync('bash', ['-c', `node ${CLI} demo --flows 2000 | head -1; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/status 0\s*$/);
  expect(r.stderr).not.toContain('EPIPE');
});
