#!/usr/bin/env node
/**
 * rssplane connect on a real link against the kernel's nginx, beside wrk against the same nginx,
 * rounds interleaved (issue 12's benchmark). Needs root (namespaces), iproute2, ethtool, nginx,
 * wrk, DPDK (the shim built), and a built dist/.
 *
 *   node scripts/bench-connect-link.mjs [--rounds 3] [--duration 5] [--concurrency 64] [--cores 1] [--json]
 *
 * The rig is test/helpers/rig.ts's, made here with the same commands: two namespaces with the pid
 * in their names, a veth (the kernel's end without offloads), nginx on 198.18.0.1 serving a 1 KiB
 * file; rssplane runs in the other namespace on net_af_packet. wrk runs in nginx's namespace (as
 * the issue says: the same namespace; its connections go over loopback, ours over the veth and
 * DPDK). Each round: ours with `Connection: close` (one request a connection), wrk with the same
 * header, ours keep-alive (100 requests a connection), wrk keep-alive. Medians are printed; each
 * side's figure is its own: our `requests_per_s` (from the first SYN to the last close, the
 * port's start not counted) and wrk's `Requests/sec`. Everything is removed at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const rounds = Number(opt('rounds', '3'));
const duration = Number(opt('duration', '5'));
const concurrency = Number(opt('concurrency', '64'));
const cores = Number(opt('cores', '1'));
const asJson = args.includes('--json');
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const id = `${process.pid}`;
const K = `rsp-bk-${id}`, U = `rsp-bu-${id}`, KI = `rbk${id}`, UI = `rbu${id}`;
const dir = mkdtempSync(join(tmpdir(), 'rssplane-bench-link-'));
const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
let nginxPid;

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
  keepalive_requests 1000000; server { listen 198.18.0.1:80; root ${join(dir, 'www')}; } }
`);
  sh('ip', 'netns', 'exec', K, 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log'));
  nginxPid = Number(sh('cat', join(dir, 'nginx.pid')).trim());
}

function down() {
  if (nginxPid) spawnSync('kill', [String(nginxPid)]);
  spawnSync('ip', ['netns', 'del', K]);
  spawnSync('ip', ['netns', 'del', U]);
  rmSync(dir, { recursive: true, force: true });
}

function ours(keepAlive) {
  const r = spawnSync('ip', ['netns', 'exec', U, process.execPath, CLI, 'connect', 'http://198.18.0.1/1k', '--ip', '198.18.0.2/24',
    '--eal', `--no-huge -m 512 --no-pci --vdev net_af_packet0,iface=${UI}`, '--cores', String(cores), '--duration', String(duration),
    '--concurrency', String(concurrency), '--requests-per-connection', keepAlive ? '100' : '1', '--json'], { encoding: 'utf8', timeout: (duration + 60) * 1000 });
  if (r.status !== 0) throw new Error(`connect: ${r.stderr}`);
  const s = JSON.parse(r.stdout);
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  return { requests_per_s: s.requests_per_s, connections_per_s: s.connections_per_s, errors, misdelivered: s.misdelivered };
}

function wrk(keepAlive) {
  const r = spawnSync('ip', ['netns', 'exec', K, 'wrk', '-t1', `-c${concurrency}`, `-d${duration}s`, ...(keepAlive ? [] : ['-H', 'Connection: close']), 'http://198.18.0.1/1k'],
    { encoding: 'utf8', timeout: (duration + 30) * 1000 });
  if (r.status !== 0) throw new Error(`wrk: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(r.stdout)[1]);
  return { requests_per_s: Math.round(rps), errors: /Socket errors/.test(r.stdout) ? r.stdout.match(/Socket errors.*/)[0] : 0 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

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
    bench: 'connect-link', rounds, duration_s: duration, concurrency, cores, file_bytes: 1024,
    ours_close_requests_per_s: med('ours_close'), wrk_close_requests_per_s: med('wrk_close'),
    ours_keepalive_requests_per_s: med('ours_keepalive'), wrk_keepalive_requests_per_s: med('wrk_keepalive'),
    ratio_close: Math.round((med('ours_close') / med('wrk_close')) * 100) / 100,
    ratio_keepalive: Math.round((med('ours_keepalive') / med('wrk_keepalive')) * 100) / 100,
    errors: { ours: runs.ours_close.concat(runs.ours_keepalive).reduce((a, x) => a + x.errors, 0), wrk: runs.wrk_close.concat(runs.wrk_keepalive).filter((x) => x.errors).length },
    rounds_detail: runs,
  };
  console.log(JSON.stringify(result, null, asJson ? 0 : 2));
} finally {
  down();
}
