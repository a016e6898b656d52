#!/usr/bin/env node
// A live run held for minutes, its memory recorded each minute: is a long `rssplane run` bounded
// over time? Synthetic traffic with no set end (flows start and end all the time), metrics served
// and scraped, live stats written; any further arguments go to `rssplane run` (an exporter:
// `-- --ipfix udp://127.0.0.1:4739`). Prints a table a minute and a JSON result at the end; exits 1
// when the last minute's resident memory is more than 5% above the second minute's, or when an
// exporter dropped records.
//
//   node scripts/soak-live.mjs [--minutes 10] [--cores 2] [-- RUN ARGS...]
//
// Resident memory is read from /proc/PID/status (VmRSS, the whole process: every core's thread
// and engine) and from the run's own process_resident_memory_bytes; the run's counters come
// from its /metrics, as Prometheus would scrape them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash < 0 ? argv : argv.slice(0, dash);
const extra = dash < 0 ? [] : argv.slice(dash + 1);
const opt = (name, fallback) => {
  const i = own.indexOf(name);
  return i < 0 ? fallback : Number(own[i + 1]);
};
const minutes = opt('--minutes', 10);
const cores = opt('--cores', 2);
const minuteMs = opt('--minute-ms', 60_000);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rssplane-soak-'));
const stats = join(dir, 'stats.jsonl');
const seconds = (minutes * minuteMs) / 1000;

// Flows leave the table by packet time, and the generator's packet time runs slower than the
// wall clock here: a conversation starts every 3 us of it at the default --concurrent (about
// 30 ms each), some 4,000 to 8,000 a wall second on this machine: 15 to 25 ms of it a second.
// Under the default 300 s idle timeout (10 s for a closed connection) no flow would leave the
// table in a 10-minute soak and the table would only fill. A 0.1 s idle timeout (packet time)
// keeps flows ending all the time, as on a busy link, with some 40,000 in the tables.
const idle = extra.includes('--idle-timeout') ? [] : ['--idle-timeout', '0.1'];
const args = [cli, 'run', '--cores', String(cores), '--duration', String(seconds), '--metrics', '127.0.0.1:0', '--json-stats', stats, '--json', '--no-progress', ...idle, ...extra];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '', stderr = '';
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
const ended = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
const kill = () => child.exitCode === null && child.kill('SIGKILL');
process.on('exit', () => {
  kill();
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let url;
for (let i = 0; i < 600 && !url; i++) {
  url = /metrics at (http:\/\/\S+)/.exec(stderr)?.[1];
  if (!url) await sleep(100);
}
if (!url) {
  console.error(`soak: the run did not start: ${stderr}`);
  process.exit(1);
}

const sum = (text, name) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
const vmRss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

const rows = [];
const started = Date.now();
console.log('minute  resident MB  (metrics)  packets          packets/s  active flows  flows created  tcp flows ended  export sent/dropped');
for (let m = 1; m <= minutes; m++) {
  await sleep(Math.max(0, started + m * minuteMs - 2000 - Date.now()));
  let text;
  try {
    text = await (await fetch(url)).text();
  } catch (e) {
    console.error(`soak: scrape at minute ${m} failed: ${e.message}`);
    break;
  }
  const row = {
    minute: m, resident: vmRss(), resident_metrics: sum(text, 'process_resident_memory_bytes'),
    packets: sum(text, 'rssplane_core_received_packets_total'), active_flows: sum(text, 'rssplane_flows_active'),
    flows_created: sum(text, 'rssplane_flows_created_total'), tcp_flows_ended: sum(text, 'rssplane_tcp_flows_ended_total'),
    export_sent: sum(text, 'rssplane_export_records_sent_total'), export_dropped: sum(text, 'rssplane_export_records_dropped_total'),
  };
  const prev = rows.at(-1);
  row.pps = Math.round((row.packets - (prev?.packets ?? 0)) / ((prev ? minuteMs : Date.now() - started) / 1000));
  rows.push(row);
  const mb = (x) => (x / 1e6).toFixed(1);
  console.log(`${String(m).padStart(6)}  ${mb(row.resident).padStart(11)}  ${mb(row.resident_metrics).padStart(9)}  ${String(row.packets).padStart(12)}  ${String(row.pps).padStart(12)}  ${String(row.active_flows).padStart(12)}  ${String(row.flows_created).padStart(13)}  ${String(row.tcp_flows_ended).padStart(15)}  ${row.export_sent}/${row.export_dropped}`);
}
const code = await ended;
const summary = stdout ? JSON.parse(stdout) : undefined;
const second = rows[1]?.resident, last = rows.at(-1)?.resident;
const growth = second && last ? last / second - 1 : undefined;
const liveLines = readFileSync(stats, 'utf8').trim().split('\n').length;
const result = {
  minutes, cores, args: [...idle, ...extra], exit: code, rows,
  second_minute_resident: second, last_minute_resident: last, growth: growth === undefined ? null : Number(growth.toFixed(4)),
  flat: growth !== undefined && growth <= 0.05,
  // the run's own count at its end (the scrapes come a little before it)
  export_dropped: summary?.ipfix?.records_dropped ?? rows.at(-1)?.export_dropped ?? 0,
  json_stats_lines: liveLines,
  summary: summary && { packets: summary.packets, seconds: summary.seconds, pps: summary.pps, flows: summary.flows, flows_by_close: summary.flows_by_close, memory: summary.memory, ...(summary.ipfix ? { ipfix: summary.ipfix } : {}) },
};
console.log(JSON.stringify(result));
process.exit(code === 0 && result.flat && result.export_dropped === 0 ? 0 : 1);
