/**
 * bench connect: TCP connections per second and keep-alive requests per second of our endpoints
 * (client on one core, server on another, the in-memory wire), side by side in one run with the
 * Linux kernel: wrk against Debian's nginx over loopback, inside a network namespace of the
 * bench's own (its own 127.0.0.1: nothing else on the host is touched or measured). Each
 * connection does a handshake, one GET, a 1 KiB response and a close by FIN (wrk: `Connection:
 * close`; the server closes first in both); keep-alive runs 100 requests a connection (nginx:
 * keepalive_requests 100). Rounds are interleaved, figures are medians, and each ratio is taken
 * round by round before its median.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RssConfig } from '../../core/rss.js';
import { Reta } from '../../core/reta.js';
import { wirePlan, type WireSetup } from '../commands/connect.js';
import { runConnect } from '../runner/connect.js';
import { machine, median, round } from './measure.js';

export interface ConnectBenchOptions {
  rounds: number;
  /** connections per round, closing by FIN after one request */
  connections: number;
  /** requests per keep-alive round (100 a connection) */
  requests: number;
  concurrency: number;
  /** wrk's seconds per round */
  wrkSeconds: number;
  /** run the kernel's side too (needs root for the namespace, nginx and wrk) */
  peer: boolean;
  workerUrl?: URL;
}

function setup(o: ConnectBenchOptions, keepAlive: boolean): WireSetup {
  return {
    clientCores: 1, serverCores: 1, family: 4, config: RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: Reta.equal(128, 1) }),
    concurrency: o.concurrency, connections: keepAlive ? Math.max(1, Math.round(o.requests / 100)) : o.connections,
    requestsPerConnection: keepAlive ? 100 : 1, close: 'fin', ports: 'pool', portRange: [1025, 65535], srcCount: 1,
    responseBytes: 1024, timeoutMs: 10_000, timeWaitMs: 60_000, digest: false, listen: 80, pcap: false, seed: 1,
  };
}

async function ours(o: ConnectBenchOptions, keepAlive: boolean): Promise<{ perSecond: number; errors: number }> {
  const s = setup(o, keepAlive);
  const r = await runConnect(wirePlan(s), { workerUrl: o.workerUrl });
  const stat = (name: string) => r.clients.reduce((a, c) => a + (c.stats[name] ?? 0), 0);
  const errors = stat('app_connect_timeout') + stat('app_reset') + stat('app_timeout') + stat('app_bad_response');
  return { perSecond: (keepAlive ? stat('app_responses') : stat('app_completed')) / r.seconds, errors };
}

/** nginx (one worker) in a namespace of our own, serving a 1 KiB file on 127.0.0.1:8080. */
class KernelPeer {
  readonly ns = `rssplane-bench-${process.pid}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'rssplane-nginx-'));
  private nginx: ChildProcess | undefined;

  start(): void {
    const ip = (...args: string[]) => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
    };
    ip('netns', 'add', this.ns);
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    writeFileSync(join(this.dir, '1k'), new Uint8Array(1024).fill(120));
    writeFileSync(join(this.dir, 'nginx.conf'), [
      'worker_processes 1;', `pid ${this.dir}/nginx.pid;`, `error_log ${this.dir}/error.log;`,
      'events { worker_connections 8192; }',
      'http {', '  access_log off;', '  keepalive_requests 100;',
      `  client_body_temp_path ${this.dir}; proxy_temp_path ${this.dir}; fastcgi_temp_path ${this.dir}; uwsgi_temp_path ${this.dir}; scgi_temp_path ${this.dir};`,
      `  server { listen 127.0.0.1:8080 reuseport backlog=8192; location / { root ${this.dir}; } }`, '}', '',
    ].join('\n'));
    this.nginx = spawn('ip', ['netns', 'exec', this.ns, 'nginx', '-c', join(this.dir, 'nginx.conf'), '-p', this.dir, '-g', 'daemon off;'], { stdio: 'ignore' });
    // Ready when it answers.
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('ip', ['netns', 'exec', this.ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8080/1k'], { encoding: 'utf8' });
      if (r.stdout === '200') return;
      spawnSync('sleep', ['0.05']);
    }
    throw new Error('nginx did not answer on 127.0.0.1:8080 in its namespace');
  }

  /** wrk, one thread, for `seconds`: requests per second (with close: connections per second). */
  wrk(concurrency: number, seconds: number, close: boolean): { perSecond: number; errors: number } {
    const args = ['netns', 'exec', this.ns, 'wrk', '-t1', `-c${concurrency}`, `-d${seconds}s`, ...(close ? ['-H', 'Connection: close'] : []), 'http://127.0.0.1:8080/1k'];
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    const m = /Requests\/sec:\s+([0-9.]+)/.exec(r.stdout);
    if (!m) throw new Error(`wrk: ${r.stdout}${r.stderr}`);
    const e = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
    return { perSecond: Number(m[1]), errors: (e ? Number(e[1]) + Number(e[2]) + Number(e[3]) + Number(e[4]) : 0) + (non2xx ? Number(non2xx[1]) : 0) };
  }

  stop(): void {
    this.nginx?.kill('SIGTERM');
    spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).forEach((pid) => {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'del', this.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function peerAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace of its own)';
  for (const tool of ['nginx', 'wrk', 'ip', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  return undefined;
}

export async function benchConnect(o: ConnectBenchOptions) {
  const close: number[] = [], keep: number[] = [];
  const wrkClose: number[] = [], wrkKeep: number[] = [];
  let errors = 0, wrkErrors = 0;
  const why = o.peer ? peerAvailable() : 'not asked (--no-peer)';
  const peer = why === undefined ? new KernelPeer() : undefined;
  try {
    peer?.start();
    await ours({ ...o, connections: Math.min(o.connections, 20_000), requests: Math.min(o.requests, 20_000) }, false); // warm up
    for (let r = 0; r < o.rounds; r++) {
      const a = await ours(o, false);
      close.push(a.perSecond);
      errors += a.errors;
      if (peer) {
        const w = peer.wrk(o.concurrency, o.wrkSeconds, true);
        wrkClose.push(w.perSecond);
        wrkErrors += w.errors;
      }
      const b = await ours(o, true);
      keep.push(b.perSecond);
      errors += b.errors;
      if (peer) {
        const w = peer.wrk(o.concurrency, o.wrkSeconds, false);
        wrkKeep.push(w.perSecond);
        wrkErrors += w.errors;
      }
    }
  } finally {
    peer?.stop();
  }
  const paired = (a: number[], b: number[]) => (b.length ? round(median(a.map((x, i) => x / b[i]!)), 2) : undefined);
  return {
    bench: 'connect',
    connections_per_s: Math.round(median(close)),
    requests_per_s: Math.round(median(keep)),
    errors,
    ...(peer ? {
      peer: {
        tool: 'wrk -t1 against nginx (1 worker), 127.0.0.1 in a network namespace', connections_per_s: Math.round(median(wrkClose)),
        requests_per_s: Math.round(median(wrkKeep)), errors: wrkErrors, rounds_connections_per_s: wrkClose.map(Math.round), rounds_requests_per_s: wrkKeep.map(Math.round),
      },
      ratio_connections: paired(close, wrkClose), ratio_requests: paired(keep, wrkKeep),
      targets: { connections: '10x', requests: '3x' },
    } : { peer: { skipped: why } }),
    rounds: o.rounds,
    rounds_connections_per_s: close.map(Math.round),
    rounds_requests_per_s: keep.map(Math.round),
    connections_per_round: o.connections,
    requests_per_round: o.requests,
    concurrency: o.concurrency,
    exchange: 'handshake, GET, 1 KiB response, FIN close (server first); keep-alive: 100 requests a connection',
    client_cores: 1, server_cores: 1,
    machine: machine(),
  };
}
