/**
 * rssplane visualize as a server: the page's files and nothing else, on 127.0.0.1, a clear error
 * for a port in use, and Ctrl-C to stop. (The page itself is tested in Chromium: web.test.ts.)
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { startVisualizer } from './helpers/visualize.js';

describe('rssplane visualize', () => {
  it('prints a 127.0.0.1 address, serves the page and its files, nothing outside them, and stops on Ctrl-C', async () => {
    const v = await startVisualizer();
    expect(v.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const cases: Array<[string, number, string]> = [
      ['', 200, 'text/html'], ['index.html', 200, 'text/html'], ['app.js', 200, 'text/javascript'], ['style.css', 200, 'text/css'],
      ['nope.js', 404, 'text/plain'], ['..%2f..%2fpackage.json', 404, 'text/plain'], ['%2e%2e/cli.js', 404, 'text/plain'], ['%E0%A4%A', 400, 'text/plain'],
    ];
    for (const [path, status, type] of cases) {
      const r = await fetch(v.url + path);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('content-type'), path).toContain(type);
    }
    const page = await (await fetch(v.url)).text();
    expect(page).toContain('<script type="module" src="app.js"></script>');
    expect((await fetch(v.url, { method: 'POST' })).status).toBe(405);
    expect(await v.stop()).toBe(0);
  });

  it('a port in use is one line naming it, exit 2', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const r = rssplane(['visualize', '--port', String(port)]);
      expectUsageError(r, `port ${port} on 127.0.0.1 is in use`);
    } finally {
      blocker.close();
    }
  });

  it('bad --port and --host values are named', () => {
    expectUsageError(rssplane(['visualize', '--port', 'http']), '--port');
    expectUsageError(rssplane(['visualize', '--port', '70000']), 'bad --port "70000"');
    expectUsageError(rssplane(['visualize', '--host', '10.255.255.254']), 'bad --host "10.255.255.254"');
  });

  it('--help explains, with examples', () => {
    const r = rssplane(['visualize', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--port <n>');
    expect(r.stdout).toContain('rssplane visualize --port 0');
  });
});
