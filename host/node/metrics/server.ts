/**
 * `run --metrics HOST:PORT`: an HTTP server with the run's metrics at /metrics, for as long as the
 * run lives. It runs on the controller's thread, which never touches packets; a one-core run's
 * engine shares that thread and gives it a turn every 100 ms or so.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { invalid } from '../../core/errors.js';
import type { RunMetrics } from './registry.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * HOST:PORT as --metrics takes it: an IPv4 address or a host name, or an IPv6 address in brackets
 * ([::1]:9464); port 0 takes any free port (the one it got is printed).
 */
export function parseListen(text: string, option: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) invalid(option, text, 'expected HOST:PORT, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464');
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) invalid(option, text, `"${host}" in brackets is not an IPv6 address`);
  if (m[2] !== undefined && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) invalid(option, text, `"${host}" is neither an address nor a host name`);
  const port = Number(m[3]);
  if (port > 65535) invalid(option, text, 'port at most 65535');
  return { host, port };
}

export interface MetricsServer {
  /** the address it listens on (the port the system chose for port 0) */
  url: string;
  close(): Promise<void>;
}

/** Listens on `at` and serves `metrics`; a host it cannot listen on is the user's mistake (one line). */
export async function serveMetrics(metrics: RunMetrics, at: ListenAddress, option: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.text().then((body) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      }, (e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
      });
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('rssplane: the run\'s metrics are at /metrics\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
    }
  });
  // A scraper that keeps its connection open must not hold the process once the run is over.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use'
        : e.code === 'EACCES' ? 'no permission to listen there (ports below 1024 need privileges)'
        : e.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address'
        : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'the host name does not resolve'
        : `cannot listen (${e.code ?? e.message})`;
      try {
        invalid(option, `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`, why);
      } catch (err) {
        reject(err);
      }
    });
    server.listen(at.port, at.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
