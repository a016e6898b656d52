/** Random test traffic, from the platform's cryptographic generator (Node and browsers alike). */

/** Fills `bytes` with random data (crypto.getRandomValues, in the 64 KiB pieces it accepts). */
export function fillRandom(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, bytes.length)));
}
