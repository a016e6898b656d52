/*
 * The native anchor for `rssplane bench capture --anchor`: libpcap's own reader over a capture
 * file (pcap_open_offline, pcap_next_ex: it reads each record from the file into its buffer),
 * counting packets and captured bytes, as `bench capture` does from the file.
 *
 *   cc -O2 scripts/pcap_walk.c -lpcap -o /tmp/pcap_walk
 *   /tmp/pcap_walk FILE      prints: libpcap  X Mrecords/s  packets N  bytes B
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_walk FILE\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pcap_t *p = pcap_open_offline(argv[1], err);
  if (!p) {
    fprintf(stderr, "pcap_walk: %s\n", err);
    return 2;
  }
  struct pcap_pkthdr *h;
  const u_char *data;
  unsigned long packets = 0, bytes = 0;
  int r;
  while ((r = pcap_next_ex(p, &h, &data)) == 1) {
    packets++;
    bytes += h->caplen;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (r == PCAP_ERROR) {
    fprintf(stderr, "pcap_walk: %s\n", pcap_geterr(p));
    return 2;
  }
  pcap_close(p);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("libpcap  %.2f Mrecords/s  packets %lu  bytes %lu\n", packets / seconds / 1e6, packets, bytes);
  return 0;
}
