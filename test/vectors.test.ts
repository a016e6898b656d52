import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RssHasher } from '../host/core/index.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/microsoft-rss-ipv4.json', import.meta.url), 'utf8')) as {
  key: string;
  rows: Array<{ src: string; dst: string; sport: number; dport: number; ipv4: string; ipv4_l4: string }>;
};

const vectors6 = JSON.parse(readFileSync(new URL('./fixtures/microsoft-rss-ipv6.json', import.meta.url), 'utf8')) as {
  key: string;
  rows: Array<{ src: string; dst: string; sport: number; dport: number; ipv6: string; ipv6_l4: string }>;
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

describe('published Microsoft RSS verification vectors (IPv6)', () => {
  it.each(vectors6.rows)('$src:$sport -> $dst:$dport', async (row) => {
    const v6 = await RssHasher.create({ key: vectors6.key, fields: 'ipv6' });
    const l4 = await RssHasher.create({ key: vectors6.key, fields: 'ipv6-l4' });
    expect(hex(v6.hash(row))).toBe(row.ipv6);
    expect(hex(l4.hash(row))).toBe(row.ipv6_l4);
  });
});
