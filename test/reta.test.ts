/**
 * Indirection tables as `ethtool -X` fills them, and `ethtool -x` text printed and parsed.
 */
import { describe, expect, it } from 'vitest';
import { formatEthtool, KEY_PRESETS, parseEthtool, Reta } from '../host/core/index.js';

const counts = (r: Reta) => Array.from({ length: r.queues }, (_, q) => r.table.filter((x) => x === q).length);

describe('ethtool -X semantics', () => {
  it('equal N: entry i is i % N (the kernel default)', () => {
    const r = Reta.equal(128, 6);
    expect(Array.from(r.table.slice(0, 14))).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1]);
    expect(counts(r)).toEqual([22, 22, 21, 21, 21, 21]);
  });

  it('equal N start S: entry i is S + i % N', () => {
    const r = Reta.parse('equal:3+start:4', 64);
    expect(Array.from(r.table.slice(0, 7))).toEqual([4, 5, 6, 4, 5, 6, 4]);
    expect(r.queues).toBe(7);
  });

  it('weight W0 W1: j advances while i >= size * partial / sum (integer arithmetic)', () => {
    // sum 3 on 128 entries: queue 0 takes entries below floor(128/3) = 42, queue 1 the rest
    const r = Reta.parse('weight:1,2', 128);
    expect(counts(r)).toEqual([42, 86]);
    expect(r.table[41]).toBe(0);
    expect(r.table[42]).toBe(1);
  });

  it('weight with zeros skips those queues, and start offsets the rest', () => {
    expect(counts(Reta.parse('weight:0,1', 64))).toEqual([0, 64]);
    const r = Reta.parse('weight:4,0,2,2+start:2', 64);
    expect(counts(r)).toEqual([0, 0, 32, 0, 16, 16]);
  });

  it('weights equal to the table size give one entry per unit', () => {
    expect(counts(Reta.parse('weight:1,1,1,1', 4))).toEqual([1, 1, 1, 1]);
  });

  it('queue = table[hash & (size - 1)]', () => {
    const r = Reta.equal(512, 16);
    expect(r.queueOf(0x51ccc178)).toBe(0x178 % 16);
    expect(r.queueOf(0xffffffff)).toBe(511 % 16);
  });

  it.each([
    ['equal:0', 128, 'equal queue count'],
    ['weight:0,0', 128, 'at least one weight must be non-zero'],
    ['weight:100,100', 128, 'total weight 200 exceeds the table size 128'],
    ['weight:1,x', 128, 'weights must be whole numbers'],
    ['equal:4+start:x', 128, 'start must be whole numbers'],
    ['equal:4+start:1023', 128, 'entry 1 names queue 1024; at most 1023'],
    ['equal:4', 100, 'must be a power of two'],
    ['equal:4', 8192, 'must be a power of two from 1 to 4096'],
    ['round-robin:4', 128, 'expected equal:N or weight'],
    ['equal:2000', 128, 'equal queue count'],
  ])('%s on %i entries is refused: %s', (spec, size, message) => {
    expect(() => Reta.parse(spec, size)).toThrow(message);
  });

  it('sizes 64 to 2048 (and beyond, to 4096)', () => {
    for (let size = 1; size <= 4096; size *= 2) expect(Reta.equal(size, 3).size).toBe(size);
  });
});

// As ethtool prints it (versions that know symmetric-or-xor) for a 4-queue port with a 52-byte key.
const I40E = `RX flow hash indirection table for enp1s0f0 with 4 RX ring(s):
    0:      0     1     2     3     0     1     2     3
    8:      0     1     2     3     0     1     2     3
RSS hash key:
6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa:00:11:22:33:44:55:66:77:88:99:aa:bb
RSS hash function:
    toeplitz: on
    xor: off
    crc32: off
RSS input transformation:
    symmetric-xor: off
    symmetric-or-xor: off
`;

describe('ethtool -x text', () => {
  it('prints byte for byte as ethtool does', () => {
    const r = Reta.equal(16, 4);
    const key = Uint8Array.from(I40E.split('\n')[4]!.split(':'), (b) => parseInt(b, 16));
    expect(formatEthtool({ dev: 'enp1s0f0', rings: 4, table: r.table, key, hfunc: 'toeplitz', xfrm: 'none' })).toBe(I40E);
  });

  it('parses a paste with a prompt, CRLF line ends and a 52-byte key', () => {
    const pasted = `$ sudo ethtool -x enp1s0f0\r\n${I40E.replace(/\n/g, '\r\n')}`;
    const p = parseEthtool(pasted);
    expect(p.dev).toBe('enp1s0f0');
    expect(p.rings).toBe(4);
    expect(Array.from(p.table)).toEqual(Array.from(Reta.equal(16, 4).table));
    expect(p.key!.length).toBe(52);
    expect(Array.from(p.key!.subarray(0, 40))).toEqual(Array.from(KEY_PRESETS.microsoft));
    expect(p.hfunc).toBe('toeplitz');
    expect(p.xfrm).toBe('none');
  });

  it('parses the one-line input transformation section of ethtool 6.8 to 6.14', () => {
    const p = parseEthtool(I40E.replace('    symmetric-xor: off\n    symmetric-or-xor: off\n', '    symmetric-xor: on\n'));
    expect(p.xfrm).toBe('symmetric-xor');
  });

  it('parses older output: no hash function section, key not supported', () => {
    const old = 'RX flow hash indirection table for eth0 with 2 RX ring(s):\n    0:      0     1     0     1\nRSS hash key:\nOperation not supported\n';
    const p = parseEthtool(old);
    expect(Array.from(p.table)).toEqual([0, 1, 0, 1]);
    expect(p.key).toBeUndefined();
    expect(p.hfunc).toBeUndefined();
  });

  it('round-trips every table ethtool -X can make, 512 entries (i40e) included', () => {
    for (const spec of ['equal:16', 'weight:3,1,1,2+start:1', 'equal:5+start:3']) {
      for (const size of [64, 128, 512, 2048]) {
        const r = Reta.parse(spec, size);
        const text = formatEthtool({ dev: 'eth1', rings: r.queues, table: r.table, key: KEY_PRESETS.symmetric, hfunc: 'xor', xfrm: 'symmetric-xor' });
        const p = parseEthtool(text);
        expect(Array.from(p.table)).toEqual(Array.from(r.table));
        expect(Array.from(p.key!)).toEqual(Array.from(KEY_PRESETS.symmetric));
        expect([p.hfunc, p.xfrm, p.rings]).toEqual(['xor', 'symmetric-xor', r.queues]);
      }
    }
  });

  it.each([
    ['hello', 'no "RX flow hash indirection table'],
    ['RX flow hash indirection table for eth0 with 2 RX ring(s):\n', 'has no rows'],
    ['RX flow hash indirection table for eth0 with 2 RX ring(s):\n    8:      0     1\n', 'row starts at entry 8'],
    ['RX flow hash indirection table for eth0 with 2 RX ring(s):\n    0:      0     1\nRSS hash key:\n6d:5a:zz\n', 'not colon-separated hex'],
  ])('refuses malformed text: %j', (text, message) => {
    expect(() => parseEthtool(text)).toThrow(message);
  });
});
