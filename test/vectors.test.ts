import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RssHasher } from '../host/core/index.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/microsoft-rss-ipv4.json', import.meta.url), 'utf8')) as {
  key: string;
  rows: Array<{ src: string; dst: string; sport: number; dport: number; ipv4: string; ipv4_l4: string }>;
};

const hex = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;

describe('published Microsoft RSS verification vectors (IPv4)', () => {
  it.each(vectors.rows)('$src:$sport -> $dst:$dport', async (row) => {
    const v4 = await RssHasher.create({ key: vectors.key, fields: 'ipv4' });
    const l4 = await RssHasher.create({ key: vectors.key, fields: 'ipv4-l4' });
    expect(hex(v4.hash(row))).toBe(row.ipv4);
    expect(hex(l4.hash(row))).toBe(row.ipv4_l4);
  });
});
