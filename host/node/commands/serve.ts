/**
 * rssplane serve: the HTTP/1.1 server engines alone, one per core, answering every request with
 * --response-bytes of a deterministic body (keep-alive honoured). A real wire comes with the link
 * (DPDK, ARP, ND: the next issue); until then it serves over the in-memory wire, driven by the
 * built-in client, and reports the server's side.
 */
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { parsePort } from '../../core/addr.js';
import { invalid } from '../../core/errors.js';
import { json, out, stderrIsTerminal } from '../io.js';
import { explicitIn, rssOptions } from '../options.js';
import { linkOptions } from '../link/options.js';
import {
  bounded, connectSummary, LIMITS, linkGiven, refuseLink, runWithProgress, seconds, setUpWire, type ConnectFlags,
} from './connect.js';
import { serveOnLink } from './link-run.js';

interface ServeFlags extends ConnectFlags {
  listen: string;
  clientCores?: string;
}

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .summary('the HTTP server engines alone: one TCP endpoint per core')
    .description(
      'Runs the HTTP/1.1 server, one TCP endpoint engine per core: every request\n' +
        'gets 200 OK and --response-bytes of a deterministic body (word k of it is\n' +
        'k * 0x9e3779b1, little-endian), keep-alive honoured, `Connection: close`\n' +
        'answered and then closed (the server holds the TIME-WAIT, compactly).\n\n' +
        'With --eal and --ip (or --ip6) it serves on a real link (DPDK, ARP, ND,\n' +
        'ping answered) until Ctrl-C, --duration or --dpdk-idle. Without them it\n' +
        'serves over the in-memory wire, its load from the built-in client\n' +
        '(--client-cores, --concurrency), for --duration seconds.');
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--listen <port>', 'the port to listen on', '80')
    .option('--response-bytes <n>', 'body bytes of every response', '1024')
    .option('--duration <s>', 'serve this long (in-memory wire: default 5; on a link: until Ctrl-C)', '5')
    .option('--cores <n>', `server cores (default: half of the ${availableParallelism()}, at least 1)`)
    .option('--client-cores <n>', 'in-memory wire: cores of the built-in client (default: as many)')
    .option('--concurrency <n>', 'in-memory wire: the built-in client\'s connections at once', '64')
    .option('--requests-per-connection <n>', 'in-memory wire: the built-in client\'s requests per connection', '1')
    .option('--ipv6', 'in-memory wire: IPv6')
    .option('--time-wait <s>', 'TIME-WAIT length', '60');
  linkOptions(cmd)
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  rssplane serve --duration 2 --json\n  rssplane serve --response-bytes 1048576 --concurrency 8\n' +
      '  rssplane serve --ip 198.18.0.2/24 --eal "--no-huge -m 512 --no-pci --vdev net_af_packet0,iface=veth1"');
  cmd.action(async (flags: ServeFlags) => {
    const explicit = explicitIn(cmd);
    const link = linkGiven(flags, explicit);
    if (link && !explicit('eal')) refuseLink(link);
    const listen = parsePort(flags.listen, '--listen');
    if (link) {
      if (listen === 0) invalid('--listen', flags.listen, 'a port from 1 to 65535');
      for (const memoryOnly of ['clientCores', 'concurrency', 'requestsPerConnection', 'ipv6'] as const) {
        if (explicit(memoryOnly)) invalid(`--${memoryOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(flags[memoryOnly]), 'only for the in-memory wire (on a link the clients are real)');
      }
      const cores = bounded(flags.cores, '--cores', Math.max(1, Math.floor(availableParallelism() / 2)), 1, 64);
      const setup = await setUpWire({
        ...flags, ports: 'pool', portRange: '1025-65535', close: 'fin', srcCount: '1', timeout: '2', loss: '0', duplicate: '0', reorder: '0',
        seed: '1', digest: false, concurrency: String(cores),
      }, cores, cores, explicit, listen);
      const timeWaitMs = Math.round(Number(flags.timeWait) * 1000);
      await serveOnLink(flags, {
        cores, listen, setup, timeWaitMs,
        responseBytes: bounded(flags.responseBytes, '--response-bytes', 1024, 0, LIMITS.responseBytes),
        durationMs: explicit('duration') ? seconds(flags.duration!, '--duration', LIMITS.durationS) * 1000 : undefined,
      });
      return;
    }
    if (listen === 0) invalid('--listen', flags.listen, 'a port from 1 to 65535');
    const serverCores = bounded(flags.cores, '--cores', Math.max(1, Math.floor(availableParallelism() / 2)), 1, LIMITS.cores);
    const clientCores = bounded(flags.clientCores, '--client-cores', serverCores, 1, LIMITS.cores);
    const durationMs = seconds(flags.duration ?? '5', '--duration', LIMITS.durationS) * 1000;
    const setup = await setUpWire({
      ...flags, duration: flags.duration, ports: 'pool', portRange: '1025-65535', close: 'fin', srcCount: '1', timeout: '2',
      loss: '0', duplicate: '0', reorder: '0', seed: '1', digest: false,
    }, clientCores, serverCores, explicitIn(cmd), listen);
    const result = await runWithProgress(setup, durationMs, flags.progress && stderrIsTerminal());
    const s = connectSummary(result, setup);
    const summary = {
      connections: s.server.connections, requests: s.server.requests, bytes_sent: s.server.bytes_sent,
      errors: {
        bad_request: result.servers.reduce((a, r) => a + (r.stats.app_bad_request ?? 0), 0),
        reset: result.servers.reduce((a, r) => a + (r.stats.resets ?? 0), 0),
        idle_closed: result.servers.reduce((a, r) => a + (r.stats.app_idle_closed ?? 0), 0),
        no_tcb: result.servers.reduce((a, r) => a + (r.stats.drop_no_tcb ?? 0), 0),
      },
      requests_per_s: Math.round(s.server.requests / s.seconds), connections_per_s: Math.round(s.server.connections / s.seconds),
      seconds: s.seconds, cores: result.servers.map((r) => ({ core: r.core, connections: r.stats.app_served_connections ?? 0, requests: r.stats.app_served_requests ?? 0 })),
      listen, response_bytes: setup.responseBytes, time_waits: s.server.time_waits, time_wait_recycled: s.server.time_wait_recycled,
      wire: { kind: 'memory', client_cores: clientCores, concurrency: setup.concurrency },
    };
    if (flags.json) return json(summary);
    const n = (x: number) => x.toLocaleString('en-US');
    out(`Served ${summary.seconds.toFixed(2)}s on port ${listen}, ${serverCores} core${serverCores > 1 ? 's' : ''} (in-memory wire: the built-in client, ${n(setup.concurrency)} connections at once)`);
    out(`  ${n(summary.requests)} requests on ${n(summary.connections)} connections, ${n(summary.bytes_sent)} bytes sent`);
    out(`Requests/sec:    ${n(summary.requests_per_s)}`);
    out(`Connections/sec: ${n(summary.connections_per_s)}`);
    const errors = Object.entries(summary.errors).filter(([, v]) => v > 0);
    out(`Errors: ${errors.length ? errors.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
    out(`TIME-WAIT entries held at the end: ${n(summary.time_waits)} (${n(summary.time_wait_recycled)} ended early: the table was full)`);
  });
  return cmd;
}
