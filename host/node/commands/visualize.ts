/**
 * rssplane visualize: serves the browser visualizer (dist/web, static files built beside the CLI)
 * on a local address until Ctrl-C. The page computes everything itself in WebAssembly; the server
 * only hands out its files.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { RssplaneError } from '../../core/errors.js';
import { out } from '../io.js';
import { wholeNumber } from '../options.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

/** The built page: dist/web beside dist/cli.js. */
export const WEB_ROOT = fileURLToPath(new URL('./web/', import.meta.url));

/**
 * A static file server for `root`: GET and HEAD of the files under it (`/` is index.html), 404 for
 * anything else, nothing outside `root`.
 */
export function staticServer(root: string): Server {
  return createServer((req, res) => {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad path\n');
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || path.includes('\0')) return send(404, 'not found\n');
    readFile(file).then(
      (body) => send(200, body, TYPES[extname(file)] ?? 'application/octet-stream'),
      () => send(404, 'not found\n'),
    );
  });
}

/** Listens on host:port (0: any free port); resolves with the port, or rejects with a clear error. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new RssplaneError('EADDRINUSE', `port ${port} on ${host} is in use: pick another with --port (0 picks a free one)`, '--port'));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') reject(new RssplaneError('EINVAL', `bad --host "${host}": not an address of this machine`, '--host'));
      else if (e.code === 'EACCES') reject(new RssplaneError('EINVAL', `bad --port "${port}": not allowed to listen there (ports below 1024 need privileges)`, '--port'));
      else reject(e);
    });
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export function visualizeCommand(): Command {
  return new Command('visualize')
    .summary('serve the browser visualizer on a local address')
    .description(
      'Serves the hash visualizer: Toeplitz bit by bit, symmetry, the distribution of random flows\n' +
        'or of a capture you drop on the page (read in your browser, never uploaded), and port pools.\n' +
        'The page runs the same WebAssembly engine as this command. Runs until Ctrl-C.',
    )
    .option('--port <n>', 'TCP port to listen on (0: any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane visualize                 # then open http://127.0.0.1:8080/\n' +
      '  rssplane visualize --port 9000\n' +
      '  rssplane visualize --port 0        # any free port; the address is printed')
    .action(async (flags: { port: string; host: string }) => {
      const port = wholeNumber(flags.port, '--port', 8080, 0);
      if (port > 65535) throw new RssplaneError('EINVAL', `bad --port "${flags.port}": a port is a number from 0 to 65535`, '--port');
      try {
        await readFile(join(WEB_ROOT, 'index.html'));
      } catch {
        throw new RssplaneError('ENOENT', `the visualizer is not built (no ${join(WEB_ROOT, 'index.html')}): run npm run build`);
      }
      const server = staticServer(WEB_ROOT);
      const bound = await listen(server, port, flags.host);
      const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
      out(`rssplane visualizer: http://${host}:${bound}/  (Ctrl-C to stop)`);
      const stop = () => {
        server.close(() => process.exit(0));
        server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
