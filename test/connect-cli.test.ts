/**
 * rssplane connect and serve as a user runs them: the in-memory wire between client and server
 * threads (real worker threads and rings), the JSON contract of MISSION.md, the pools' promise
 * on two client cores, and one-line errors for every mistake, naming the limit.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { serverBody } from '../host/core/index.js';
import { expectUsageError, rssplane } from './helpers/cli.js';

const digest = (n: number) => (crc32(serverBody(n)) >>> 0).toString(16).padStart(8, '0');

describe('connect over the in-memory wire', () => {
  it('one client core, one server core: every connection done, the JSON MISSION.md fixes', () => {
    const r = rssplane(['connect', '--cores', '1', '--server-cores', '1', '--connections', '3000', '--concurrency', '32', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      connections: 3000, requests: 3000, status: { 200: 3000 },
      errors: { connect_timeout: 0, reset: 0, timeout: 0, bad_response: 0, port_exhausted: 0 },
      bytes_received: 3000 * 1024, retransmits: 0, misdelivered: 0, ports: 'pool', digests: { [digest(1024)]: 3000 },
    });
    for (const k of ['latency_ms', 'connect_ms']) expect(Object.keys(j[k])).toEqual(['p50', 'p90', 'p99', 'p999', 'max']);
    expect(j.connections_per_s).toBeGreaterThan(0);
    expect(j.requests_per_s).toBe(j.connections_per_s);
    expect(j.cores).toEqual([{ core: 0, connections: 3000, misdelivered: 0, ports_available: 64511, ports: 64511, port_exhausted: 0, segments: 9000 }]);
    expect(j.server).toMatchObject({ cores: 1, connections: 3000, requests: 3000 });
  });

  it('two client cores: pools send nothing astray; random ports about half; the same HTTP results', () => {
    const run = (ports: string) => JSON.parse(rssplane(['connect', '--cores', '2', '--server-cores', '1', '--connections', '2000', '--concurrency', '16',
      '--requests-per-connection', '2', '--ports', ports, '--json']).stdout);
    const pool = run('pool'), random = run('random');
    for (const j of [pool, random]) {
      expect(j).toMatchObject({ connections: 2000, requests: 4000, status: { 200: 4000 }, digests: { [digest(1024)]: 4000 } });
      expect(j.cores.map((c: { connections: number }) => c.connections)).toEqual([1000, 1000]);
    }
    expect(pool.misdelivered).toBe(0);
    expect(random.misdelivered_share).toBeGreaterThan(0.4);
    expect(random.misdelivered_share).toBeLessThan(0.6);
    // Random ports are partitioned by owner: half the range each.
    expect(random.cores.map((c: { ports: number }) => c.ports)).toEqual([32255, 32256]);
  });

  it('the human summary reads like wrk\'s and says what misdelivered means', () => {
    const r = rssplane(['connect', '--connections', '500', '--concurrency', '8', '--cores', '1', '--server-cores', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Requests\/sec: +[0-9,]+/);
    expect(r.stdout).toMatch(/Connections\/sec: +[0-9,]+/);
    expect(r.stdout).toMatch(/Latency +[0-9.]+(us|ms)/);
    expect(r.stdout).toContain('misdelivered 0: segments that reached a core other than the one that\n  opened their connection.');
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });

  it('serve: the server\'s side, JSON', () => {
    const r = rssplane(['serve', '--duration', '0.5', '--cores', '1', '--client-cores', '1', '--response-bytes', '100', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.connections).toBeGreaterThan(0);
    expect(j.requests).toBe(j.connections);
    expect(j.bytes_sent).toBeGreaterThan(j.requests * 100);
    expect(j.errors).toEqual({ bad_request: 0, reset: 0, idle_closed: 0, no_tcb: 0 });
  });
});

describe('connect and serve: mistakes get one line and exit 2', () => {
  const cases: Array<[string[], string]> = [
    [['connect', 'htp:/x'], 'bad URL "htp:/x"'],
    [['connect', 'ftp://example.org/'], 'only http://'],
    [['connect', 'http://198.18.0.9/'], 'needs a link to a real network'],
    [['connect', '--eal', '--no-pci'], 'needs a URL: on a link, connect opens connections to http://ADDRESS[:PORT]/PATH'],
    [['connect', 'http://example.org/', '--eal', '--no-pci', '--ip', '198.18.0.2/24'], 'on a link the host must be an IPv4 or IPv6 address'],
    [['connect', 'http://[2001:db8::1]/', '--eal', '--no-pci', '--ip', '198.18.0.2/24'], 'needs our IPv6 address on the link: give --ip6'],
    [['connect', 'http://198.18.0.1/', '--eal', '--no-pci', '--ip', '198.18.0.2/24', '--loss', '0.1'], 'only for the in-memory wire'],
    [['connect', 'http://198.18.0.1/', '--eal', '--no-pci', '--ip', '198.18.0.2/24', '--src-count', '2'], 'one address per family'],
    [['serve', '--eal', '--no-pci', '--ip', '198.18.0.2/24', '--concurrency', '8'], 'only for the in-memory wire'],
    [['connect', '--connections', '10', '--duration', '1'], '--connections or --duration'],
    [['connect', '--cores', '0'], '--cores'],
    [['connect', '--cores', '300'], 'at most 256'],
    [['connect', '--src-count', '257'], 'at most 256'],
    [['connect', '--response-bytes', '2000000000000'], 'at most 1,099,511,627,776'],
    [['connect', '--requests-per-connection', '5000000000'], 'at most 4,294,967,295'],
    [['connect', '--port-range', '70000-70010'], 'bad --port-range'],
    [['connect', '--concurrency', '64', '--port-range', '40000-40015', '--cores', '1'], 'its pool has 16 ports'],
    [['connect', '--ports', 'kernel'], "argument 'kernel' is invalid"],
    [['connect', '--loss', '1.5'], 'bad --loss'],
    [['connect', '--fields', 'ipv4'], 'port pools need the ports in the hash'],
    [['connect', '--timeout', '0'], 'bad --timeout'],
    [['serve', '--listen', '70000'], 'bad --listen'],
    [['serve', '--ip', '198.18.0.2/24'], '--ip needs a link'],
    [['connect', '--ip', '198.18.0.0/24'], 'network address of the prefix'],
    [['connect', '--gateway', '198.18.0.1'], 'give --ip ADDR/LEN or --ip6 ADDR/LEN'],
    [['serve', '--duration', '-1'], 'bad --duration'],
  ];
  for (const [args, names] of cases) {
    it(args.join(' '), () => expectUsageError(rssplane(args), names));
  }
});

it('bench connect --no-peer prints its figures as JSON', () => {
  const r = rssplane(['bench', 'connect', '--rounds', '1', '--connections', '2000', '--requests', '2000', '--no-peer', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.connections_per_s).toBeGreaterThan(0);
  expect(j.requests_per_s).toBeGreaterThan(0);
  expect(j.errors).toBe(0);
  expect(j.peer).toEqual({ skipped: 'not asked (--no-peer)' });
});
