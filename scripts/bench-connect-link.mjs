#!/usr/bin/env node
/**
 * rssplane connect on a real link against the kernel's nginx, beside wrk against the same nginx,
 * rounds interleaved (issue 12's benchmark). Needs root (namespaces), iproute2, ethtool, nginx,
 * wrk, DPDK (the shim built), and a built dist/.
 *
 *   node scripts/bench-connect-link.mjs [--rounds 3] [--duration 5] [--concurrency 64] [--cores 1] [--pin] [--open-file-cache] [--json]
 *
 * The rig is test/helpers/rig.ts's, made here with the same commands: two namespaces with the pid
 * in their names, a veth (the kernel's end without offloads), nginx on 198.18.0.1 serving a 1 KiB
 * file; rssplane runs in the other namespace on net_af_packet. wrk runs in nginx's namespace (as
 * the issue says: the same namespace; its connections go over loopback, ours over the veth and
 * DPDK). Each round: ours with `Connection: close` (one request a connection), wrk with the same
 * header, ours keep-alive (100 requests a connection), wrk keep-alive. Medians are printed; each
 * side's figure is its own: our `requests_per_s` (from the first SYN to the last close, the
 * port's start not counted) and wrk's `Requests/sec`. Everything is removed at the end.
 *
 * What bounds each side is measured in the same runs: nginx's worker's CPU time over each run
 * (/proc: user + system, which includes the kernel's work in its system calls and the softirqs
 * that run in them), per request and as a share of the run; the same for wrk; and our link
 * thread's busy share (the rounds of its loop that found work, from connect's summary). nginx at
 * about 1.0 of a CPU with our thread well under 1.0 means the server is the bound.
 *
 * --open-file-cache keeps the file open in nginx (`open_file_cache`), which takes three of the six
 * system calls a request costs it (openat, newfstatat, close): the server made cheaper for both sides.
 *
 * --pin puts nginx's worker on CPU 0 and each client (ours, whole process; wrk) on CPU 1, the same
 * for both sides: each client then has a vCPU of its own beside the server's, where unpinned the
 * scheduler may put wrk (which sleeps between answers) on nginx's vCPU for part of a run (with
 * --cores 2 our two threads share CPU 1).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, median, option } from './lib/measure.mjs';

const rounds = Number(option('rounds', '3'));
const duration = Number(option('duration', '5'));
const concurrency = Number(option('concurrency', '64'));
const cores = Number(option('cores', '1'));
const asJson = flag('json');
const pin = flag('pin');
const fileCache = flag('open-file-cache');
const pinned = pin ? ['taskset', '-c', '1'] : [];
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const id = `${process.pid}`;
const K = `rsp-bk-${id}`, U = `rsp-bu-${id}`, KI = `rbk${id}`, UI = `rbu${id}`;
const dir = mkdtempSync(join(tmpdir(), 'rssplane-bench-link-'));
const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
let nginxPid, workerPid;
const TICK = Number(sh('getconf', 'CLK_TCK').trim());
/** CPU seconds (user + system) process `pid` has used. */
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (the name may hold spaces)
  return (Number(f[11]) + Number(f[12])) / TICK; // fields 14 and 15: utime, stime
};
const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function up() {
  sh('ip', 'netns', 'add', K);
  sh('ip', 'netns', 'add', U);
  sh('ip', '-n', K, 'link', 'set', 'lo', 'up');
  sh('ip', 'link', 'add', KI, 'netns', K, 'address', '02:00:00:00:00:01', 'type', 'veth', 'peer', 'name', UI, 'netns', U, 'address', '02:00:00:00:00:02');
  sh('ip', 'netns', 'exec', U, 'sysctl', '-qw', `net.ipv6.conf.${UI}.disable_ipv6=1`);
  sh('ip', '-n', U, 'link', 'set', UI, 'up');
  sh('ip', '-n', K, 'addr', 'add', '198.18.0.1/24', 'dev', KI);
  sh('ip', '-n', K, 'link', 'set', KI, 'up');
  sh('ip', 'netns', 'exec', K, 'ethtool', '-K', KI, 'tx', 'off', 'tso', 'off', 'gso', 'off');
  mkdirSync(join(dir, 'www'));
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(join(dir, 'www', '1k'), Buffer.alloc(1024, 0x61));
  const t = (n) => join(dir, 'tmp', n);
  writeFileSync(join(dir, 'nginx.conf'), `user root; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${t('b')}; proxy_temp_path ${t('p')}; fastcgi_temp_path ${t('f')}; uwsgi_temp_path ${t('u')}; scgi_temp_path ${t('s')};
  keepalive_requests 1000000;${fileCache ? ' open_file_cache max=64 inactive=60s; open_file_cache_valid 60s;' : ''} server { listen 198.18.0.1:80; root ${join(dir, 'www')}; } }
`);
  sh('ip', 'netns', 'exec', K, 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log'));
  nginxPid = Number(sh('cat', join(dir, 'nginx.pid')).trim());
  workerPid = Number(sh('pgrep', '-P', String(nginxPid)).trim().split('\n')[0]);
  if (pin) sh('taskset', '-pc', '0', String(workerPid));
}

function down() {
  if (nginxPid) spawnSync('kill', [String(nginxPid)]);
  spawnSync('ip', ['netns', 'del', K]);
  spawnSync('ip', ['netns', 'del', U]);
  rmSync(dir, { recursive: true, force: true });
}

function ours(keepAlive) {
  const cpu = cpuSeconds(workerPid);
  const r = spawnSync('ip', ['netns', 'exec', U, ...pinned, process.execPath, CLI, 'connect', 'http://198.18.0.1/1k', '--ip', '198.18.0.2/24',
    '--eal', `--no-huge -m 512 --no-pci --vdev net_af_packet0,iface=${UI}`, '--cores', String(cores), '--duration', String(duration),
    '--concurrency', String(concurrency), '--requests-per-connection', keepAlive ? '100' : '1', '--json'], { encoding: 'utf8', timeout: (duration + 60) * 1000 });
  if (r.status !== 0) throw new Error(`connect: ${r.stderr}`);
  const s = JSON.parse(r.stdout);
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const nginx = cpuSeconds(workerPid) - cpu; // nginx is idle outside the measured span
  const thread = s.wire.threads[0];
  return {
    requests_per_s: s.requests_per_s, connections_per_s: s.connections_per_s, errors, misdelivered: s.misdelivered,
    nginx_us_per_request: round1((nginx / s.requests) * 1e6), nginx_cpu_share: round2(nginx / s.seconds),
    link_busy_share: round2(thread.busy_share), frames_per_round: round1(thread.frames_per_round), load: load(),
  };
}
const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;

function wrk(keepAlive) {
  const cpu = cpuSeconds(workerPid);
  const t0 = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', K, ...pinned, 'wrk', '-t1', `-c${concurrency}`, `-d${duration}s`, ...(keepAlive ? [] : ['-H', 'Connection: close']), 'http://198.18.0.1/1k'],
    { encoding: 'utf8', timeout: (duration + 30) * 1000 });
  if (r.status !== 0) throw new Error(`wrk: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(r.stdout)[1]);
  const requests = Number(/([0-9]+) requests in/.exec(r.stdout)[1]);
  const nginx = cpuSeconds(workerPid) - cpu;
  const seconds = Math.min((performance.now() - t0) / 1000, duration); // wrk's own start and end are not its duration
  return {
    requests_per_s: Math.round(rps), errors: /Socket errors/.test(r.stdout) ? r.stdout.match(/Socket errors.*/)[0] : 0,
    nginx_us_per_request: round1((nginx / requests) * 1e6), nginx_cpu_share: round2(nginx / seconds), load: load(),
  };
}


process.on('SIGINT', () => {
  down();
  process.exit(130);
});
try {
  up();
  const runs = { ours_close: [], wrk_close: [], ours_keepalive: [], wrk_keepalive: [] };
  for (let r = 0; r < rounds; r++) {
    runs.ours_close.push(ours(false));
    runs.wrk_close.push(wrk(false));
    runs.ours_keepalive.push(ours(true));
    runs.wrk_keepalive.push(wrk(true));
    if (!asJson) process.stderr.write(`round ${r + 1}/${rounds}: ${JSON.stringify(Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.at(-1).requests_per_s])))}\n`);
  }
  const med = (k) => median(runs[k].map((x) => x.requests_per_s));
  const result = {
    bench: 'connect-link', rounds, duration_s: duration, concurrency, cores, file_bytes: 1024, pinned: pin, open_file_cache: fileCache,
    ours_close_requests_per_s: med('ours_close'), wrk_close_requests_per_s: med('wrk_close'),
    ours_keepalive_requests_per_s: med('ours_keepalive'), wrk_keepalive_requests_per_s: med('wrk_keepalive'),
    ratio_close: Math.round((med('ours_close') / med('wrk_close')) * 100) / 100,
    ratio_keepalive: Math.round((med('ours_keepalive') / med('wrk_keepalive')) * 100) / 100,
    // what bounds each side (medians of the rounds): see the header
    nginx_us_per_request: Object.fromEntries(Object.keys(runs).map((k) => [k, median(runs[k].map((x) => x.nginx_us_per_request))])),
    nginx_cpu_share: Object.fromEntries(Object.keys(runs).map((k) => [k, median(runs[k].map((x) => x.nginx_cpu_share))])),
    link_busy_share: { ours_close: median(runs.ours_close.map((x) => x.link_busy_share)), ours_keepalive: median(runs.ours_keepalive.map((x) => x.link_busy_share)) },
    load: { min: Math.min(...Object.values(runs).flat().map((x) => x.load)), max: Math.max(...Object.values(runs).flat().map((x) => x.load)) },
    errors: { ours: runs.ours_close.concat(runs.ours_keepalive).reduce((a, x) => a + x.errors, 0), wrk: runs.wrk_close.concat(runs.wrk_keepalive).filter((x) => x.errors).length },
    rounds_detail: runs,
  };
  console.log(JSON.stringify(result, null, asJson ? 0 : 2));
} finally {
  down();
}
