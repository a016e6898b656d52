/*
 * Reference hashes from DPDK's own rte_softrss (rte_thash.h, libdpdk-dev), for the cross-check
 * in test/dpdk-softrss.test.ts.
 *
 *   softrss KEYHEX INPUT_BYTES < tuples > hashes
 *
 * tuples: packed, INPUT_BYTES each, network byte order (as rssplane hashes them).
 * hashes: one little-endian u32 per tuple.
 * rte_softrss wants the tuple as host-order 32-bit words, so each word is converted first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_thash.h>

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: softrss KEYHEX INPUT_BYTES\n"); return 2; }
	uint8_t key[128] = {0};
	size_t keylen = strlen(argv[1]) / 2;
	if (keylen > sizeof key) { fprintf(stderr, "key too long\n"); return 2; }
	for (size_t i = 0; i < keylen; i++) sscanf(argv[1] + 2 * i, "%2hhx", &key[i]);
	int bytes = atoi(argv[2]);
	if (bytes <= 0 || bytes % 4 || bytes > 36) { fprintf(stderr, "bad input length\n"); return 2; }
	uint8_t in[36];
	uint32_t words[9];
	while (fread(in, 1, bytes, stdin) == (size_t)bytes) {
		for (int w = 0; w < bytes / 4; w++)
			words[w] = (uint32_t)in[4*w] << 24 | (uint32_t)in[4*w+1] << 16 | (uint32_t)in[4*w+2] << 8 | in[4*w+3];
		uint32_t h = rte_softrss(words, bytes / 4, key);
		fwrite(&h, 4, 1, stdout);
	}
	return 0;
}
