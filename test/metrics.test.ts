/**
 * `run --metrics HOST:PORT`: the exposition checked by Prometheus' own tools. promtool checks a
 * scrape of a live run, and a real Prometheus server (its own config and data directory, 1 s
 * scrapes, 127.0.0.1 only) scrapes the run until a query returns its packet counter.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { describeWithDependency, havePrometheus } from './helpers/deps.js';
import { jsonLines, LiveRun } from './helpers/live.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rssplane-metrics-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port free on 127.0.0.1 now (the system's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The exposition's samples: name{labels} -> value. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

describe('run --metrics: its options at their limits', () => {
  it('refuses an address that is not HOST:PORT, naming the option, in one line', () => {
    for (const bad of ['9464', 'localhost', '127.0.0.1:', '127.0.0.1:65536', '[zz]:9464', 'a b:9464', '::1:9464']) {
      expectUsageError(rssplane(['run', '--conversations', '10', '--metrics', bad]), '--metrics');
    }
    expect(rssplane(['run', '--conversations', '10', '--metrics', '127.0.0.1:65536']).stderr).toContain('at most 65535');
  });

  it('says so in one line when the port is taken, before the run starts', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const port = (s.address() as { port: number }).port;
      const r = rssplane(['run', '--conversations', '10', '--metrics', `127.0.0.1:${port}`]);
      expectUsageError(r, `127.0.0.1:${port}`);
      expect(r.stderr).toContain('in use');
    } finally {
      s.close();
    }
  });

  it('refuses --duration out of range, naming its maximum, and on a capture', () => {
    for (const bad of ['0', '-1', 'x', '']) expectUsageError(rssplane(['run', '--duration', bad]), '--duration');
    const r = rssplane(['run', '--duration', '2147484']);
    expectUsageError(r, '--duration');
    expect(r.stderr).toContain('at most 2147483');
    expectUsageError(rssplane(['run', '--input', 'test/fixtures/does-not-matter.pcap', '--duration', '5']), '--duration');
  });

  it('refuses a --json-stats file it cannot append to', () => {
    expectUsageError(rssplane(['run', '--conversations', '10', '--json-stats', join(dir, 'no-such-dir', 'x.jsonl')]), '--json-stats');
    expectUsageError(rssplane(['run', '--conversations', '10', '--json-stats', dir]), '--json-stats');
  });
});

describeWithDependency('prometheus', havePrometheus(), 'run --metrics against promtool and a Prometheus server', () => {
  let prometheus: ChildProcess | undefined;
  let run: LiveRun | undefined;
  afterAll(() => {
    run?.kill();
    prometheus?.kill('SIGKILL');
  });

  it('passes promtool, is scraped by Prometheus, and a query returns the run\'s packets', async () => {
    const stats = join(dir, 'prom-stats.jsonl');
    const flows = join(dir, 'prom-flows.jsonl');
    run = new LiveRun(['--cores', '2', '--duration', '300', '--concurrent', '2000', '--metrics', '127.0.0.1:0', '--json-stats', stats, '--flows-out', flows, '--json', '--no-progress']);
    const url = await run.metricsUrl();
    await run.statsLines(stats, 1);

    // promtool reads the exposition from stdin and says nothing when it is clean.
    const text = await (await fetch(url)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    const s = samples(text);
    const q = [0, 1].map((queue) => s.get(`rssplane_queue_packets_total{queue="${queue}"}`)!);
    expect(q[0]! + q[1]!).toBeGreaterThan(0);
    for (const core of [0, 1]) {
      const v = (name: string) => s.get(`${name}{core="${core}"}`);
      expect(v('rssplane_core_received_packets_total')).toBe(v('rssplane_core_processed_packets_total')! + v('rssplane_core_dropped_packets_total')!);
      expect(v('rssplane_flows_active')).toBeGreaterThan(0);
      expect(v('rssplane_flow_table_capacity_flows')).toBe(1 << 20);
      expect(v('rssplane_core_ring_slots')).toBe(16);
      expect(s.get(`rssplane_drops_total{core="${core}",reason="ipv4-malformed"}`)).toBe(0);
      expect(s.get(`rssplane_tcp_flows_ended_total{core="${core}",reason="fin"}`)).toBeGreaterThanOrEqual(0);
      expect(s.get(`rssplane_bad_checksums_total{core="${core}",protocol="tcp"}`)).toBe(0);
    }
    expect(s.get('process_resident_memory_bytes')).toBeGreaterThan(10e6);

    // A Prometheus server of its own: config, data directory, 1 s scrapes, 127.0.0.1 only.
    const target = new URL(url).host;
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: rssplane', '    static_configs:', `      - targets: ['${target}']`, '',
    ].join('\n'));
    let log = '';
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheus.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const query = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('sum(rssplane_core_received_packets_total)')}`;
    let packets = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const body = await (await fetch(query)).json() as { status: string; data: { result: Array<{ value: [number, string] }> } };
        if (body.status === 'success' && body.data.result.length) packets = Number(body.data.result[0]!.value[1]);
      } catch {
        // not listening yet
      }
      if (packets > 0) break;
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(packets, log).toBeGreaterThan(0);
    // The up series: Prometheus itself saw the target healthy.
    const up = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json() as { data: { result: Array<{ metric: { instance: string }; value: [number, string] }> } };
    expect(up.data.result.find((r) => r.metric.instance === target)?.value[1]).toBe('1');

    // Ctrl-C: the run ends with its summary, the counters Prometheus saw are at most its total.
    run.child.kill('SIGINT');
    expect(await run.end()).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.packets).toBeGreaterThanOrEqual(packets);
    const lines = jsonLines(stats);
    expect(lines.at(-1).end).toBe(true);
    expect(lines.at(-1).packets).toBe(summary.packets);
    expect(jsonLines(flows).length).toBe(summary.flows + summary.udp_flows);
  });
});
