/**
 * The run's Prometheus metrics (prom-client): every value is read from the cores' engine memory
 * when /metrics is scraped (probe.ts), never counted in JavaScript as packets pass. Counters end
 * in `_total`; labels are `queue`, `core` and `reason` (and `protocol` for checksums, `exporter`
 * for flow exporters). The names are listed in README.md ("Prometheus metrics").
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ExportStats } from './exporters.js';
import { CLOSE_REASON_NAMES, DROP_REASON_NAMES, snapshot, type CoreSnapshot, type RunProbe } from './probe.js';

type Labels = Record<string, string | number>;

/** A counter whose value is set from a count read elsewhere (prom-client counters only go up by inc). */
class ReadCounter {
  readonly metric: Counter<string>;
  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    this.metric = new Counter({ name, help, labelNames, registers: [registry] });
  }
  set(values: Array<[Labels, number]>): void {
    this.metric.reset();
    for (const [labels, v] of values) this.metric.inc(labels, v);
  }
}

class ReadGauge {
  readonly metric: Gauge<string>;
  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    this.metric = new Gauge({ name, help, labelNames, registers: [registry] });
  }
  set(values: Array<[Labels, number]>): void {
    this.metric.reset();
    for (const [labels, v] of values) this.metric.set(labels, v);
  }
}

export class RunMetrics {
  readonly registry = new Registry();
  private probe: RunProbe | undefined;
  private readonly exporters: ExportStats[] = [];
  private readonly update: Array<(cores: CoreSnapshot[]) => void> = [];

  constructor() {
    const r = this.registry;
    // The process's own figures under their standard names (prom-client's default set also has
    // gauges named `_total`, which promtool rejects): resident memory is what a soak watches.
    const resident = new ReadGauge(r, 'process_resident_memory_bytes', 'Resident memory size in bytes.', []);
    const cpu = new ReadCounter(r, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', []);
    const started = new ReadGauge(r, 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', []);
    const startTime = Math.round(Date.now() / 1000 - process.uptime());
    this.update.push(() => {
      resident.set([[{}, process.memoryUsage.rss()]]);
      const u = process.cpuUsage();
      cpu.set([[{}, (u.user + u.system) / 1e6]]);
      started.set([[{}, startTime]]);
    });
    const perCore = (name: string, help: string, f: (c: CoreSnapshot) => number, gauge = false) => {
      const m = gauge ? new ReadGauge(r, name, help, ['core']) : new ReadCounter(r, name, help, ['core']);
      this.update.push((cores) => m.set(cores.map((c) => [{ core: c.core }, f(c)])));
    };
    const perCoreReason = (name: string, help: string, reasons: readonly string[], f: (c: CoreSnapshot, i: number) => number, label = 'reason') => {
      const m = new ReadCounter(r, name, help, ['core', label]);
      this.update.push((cores) => m.set(cores.flatMap((c) => reasons.flatMap((reason, i) => (reason ? [[{ core: c.core, [label]: reason }, f(c, i)] as [Labels, number]] : [])))));
    };

    const queuePackets = new ReadCounter(r, 'rssplane_queue_packets_total', 'Packets processed per RSS queue (non-IP packets in queue 0, as NICs do).', ['queue']);
    this.update.push((cores) => {
      const queues = this.probe?.queues ?? 0;
      queuePackets.set(Array.from({ length: queues }, (_, q) => [{ queue: q }, cores.reduce((n, c) => n + (c.queues[q] ?? 0), 0)]));
    });
    const queueBytes = new ReadCounter(r, 'rssplane_queue_bytes_total', 'Captured bytes processed per RSS queue (non-IP packets in queue 0).', ['queue']);
    this.update.push((cores) => {
      const queues = this.probe?.queues ?? 0;
      queueBytes.set(Array.from({ length: queues }, (_, q) => [{ queue: q }, cores.reduce((n, c) => n + (c.queueBytes[q] ?? 0), 0)]));
    });
    perCore('rssplane_core_received_packets_total', 'Packets handed to the core\'s engine (received = processed + dropped).', (c) => c.received);
    perCore('rssplane_core_processed_packets_total', 'Packets the core\'s engine processed (counted in a queue).', (c) => c.processed);
    perCore('rssplane_core_dropped_packets_total', 'Packets the core\'s engine dropped, all reasons.', (c) => c.dropped);
    perCore('rssplane_core_received_bytes_total', 'Captured bytes of the packets handed to the core\'s engine.', (c) => c.bytes);
    perCore('rssplane_core_ring_used_slots', 'Slots waiting in the rings other cores fill for this core.', (c) => c.ring.used, true);
    perCore('rssplane_core_ring_slots', 'Slots of the rings other cores fill for this core (0: a core that takes no packets from others).', (c) => c.ring.slots, true);
    perCoreReason('rssplane_drops_total', 'Packets dropped, by reason.', DROP_REASON_NAMES, (c, i) => c.drops[i] ?? 0);
    perCore('rssplane_flows_active', 'Flows in the core\'s flow table now.', (c) => c.flows.active, true);
    perCore('rssplane_flow_table_capacity_flows', 'Flows the core\'s flow table holds (--flow-table).', () => this.probe?.flowCapacity ?? 0, true);
    perCore('rssplane_flow_table_occupancy_ratio', 'Share of the core\'s flow table in use, 0 to 1.', (c) => (this.probe?.flowCapacity ? c.flows.active / this.probe.flowCapacity : 0), true);
    perCore('rssplane_flows_created_total', 'Flows created in the core\'s flow table.', (c) => c.flows.created);
    perCore('rssplane_flow_table_evictions_total', 'Flows evicted from a full flow table (the oldest makes room).', (c) => c.flows.evicted);
    perCore('rssplane_flow_table_timeouts_total', 'Flows that left the table idle past --idle-timeout (closed connections: after a short linger).', (c) => c.flows.timedOut);
    perCore('rssplane_flows_reused_total', 'Flows ended by a new SYN on a closed connection\'s 4-tuple.', (c) => c.flows.reused);
    perCoreReason('rssplane_tcp_flows_ended_total', 'TCP flows that left the table, by how the connection ended (split flows: counted when merged, at the end of the run).',
      CLOSE_REASON_NAMES.map((n) => (n === 'open' ? '' : n)), (c, i) => c.left.tcpByClose[i] ?? 0);
    perCore('rssplane_udp_flows_ended_total', 'UDP flows that left the table (split flows: counted when merged, at the end of the run).', (c) => c.left.udp);
    perCoreReason('rssplane_bad_checksums_total', 'Packets with a bad checksum (dropped only with --checksums drop).', ['ipv4', 'tcp', 'udp'],
      (c, i) => [c.badChecksums.ipv4, c.badChecksums.tcp, c.badChecksums.udp][i]!, 'protocol');

    const sent = new ReadCounter(r, 'rssplane_export_records_sent_total', 'Flow records an exporter wrote or sent.', ['exporter']);
    const dropped = new ReadCounter(r, 'rssplane_export_records_dropped_total', 'Flow records an exporter gave up on (queue full, collector down).', ['exporter']);
    this.update.push(() => {
      sent.set(this.exporters.map((e) => [{ exporter: e.exporter }, e.sent()]));
      dropped.set(this.exporters.map((e) => [{ exporter: e.exporter }, e.dropped()]));
    });
  }

  /** The run's cores, once they are set up; until then a scrape has only the process's figures. */
  attach(probe: RunProbe): void {
    this.probe = probe;
  }

  /** A flow exporter's counts, read at every scrape. */
  addExporter(stats: ExportStats): void {
    this.exporters.push(stats);
  }

  /** The exposition text, every value read now. */
  async text(): Promise<string> {
    const cores = this.probe ? snapshot(this.probe) : [];
    for (const u of this.update) u(cores);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
