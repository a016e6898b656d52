/**
 * What a flow exporter (IPFIX to a file or a collector) tells the metrics and the live view: how
 * many records it sent and how many it dropped (a collector that was down or slow: a bounded
 * queue that overflowed). An exporter fills this in; the metrics read it when scraped, as
 * `rssplane_export_records_sent_total{exporter}` and `rssplane_export_records_dropped_total{exporter}`.
 */
export interface ExportStats {
  /** the exporter's target as the user gave it (`udp://10.0.0.1:4739`, `flows.ipfix`) */
  readonly exporter: string;
  /** records written or sent so far */
  sent(): number;
  /** records given up on so far (queue full, collector gone) */
  dropped(): number;
}
