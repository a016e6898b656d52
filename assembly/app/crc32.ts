/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320: zlib's crc32) of response bodies, so a
 * test can check every byte of every response against a digest it computes itself. Slicing by
 * eight: eight 256-entry tables let one step fold in eight bytes (Intel's slicing-by-8, 2005).
 */
let tables: usize = 0;

export function configureCrc32(): void {
  if (tables != 0) return;
  tables = heap.alloc(8 * 256 * 4);
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    store<u32>(tables + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(tables + (<usize>i << 2));
    for (let t: usize = 1; t < 8; t++) {
      c = load<u32>(tables + (<usize>(c & 0xff) << 2)) ^ (c >> 8);
      store<u32>(tables + (t << 10) + (<usize>i << 2), c);
    }
  }
}

// @ts-ignore: decorator
@inline function entry(table: usize, byte: u32): u32 {
  return load<u32>(tables + (table << 10) + (<usize>byte << 2));
}

/** Continues `crc` (0 to start; the running value, not inverted) over `n` bytes at `p`. */
export function crc32Update(crc: u32, p: usize, n: u32): u32 {
  let c = ~crc;
  let i: u32 = 0;
  for (; i + 8 <= n; i += 8) {
    const lo = load<u32>(p + i) ^ c, hi = load<u32>(p + i, 4);
    c = entry(7, lo & 0xff) ^ entry(6, (lo >> 8) & 0xff) ^ entry(5, (lo >> 16) & 0xff) ^ entry(4, lo >> 24)
      ^ entry(3, hi & 0xff) ^ entry(2, (hi >> 8) & 0xff) ^ entry(1, (hi >> 16) & 0xff) ^ entry(0, hi >> 24);
  }
  for (; i < n; i++) c = entry(0, (c ^ <u32>load<u8>(p + i)) & 0xff) ^ (c >> 8);
  return ~c;
}
