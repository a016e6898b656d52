/**
 * connect and serve on a wire, against the Linux kernel's TCP (issue 12): the rig of
 * test/helpers/rig.ts (two namespaces, a veth, DPDK's net_af_packet on our end; the kernel with
 * 198.18.0.1 and 2001:db8::1, nginx, curl and wrk on the other). The kernel is the judge: nginx's
 * bodies compared by digest, curl's and wrk's view of our server, its capture read by tshark.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serverBody } from '../host/core/endpoint.js';
import { describeWithDependency, haveDpdk, haveTshark } from './helpers/deps.js';
import { createRig, haveRig, KERNEL, OURS, type Rig } from './helpers/rig.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const GARBAGE = fileURLToPath(new URL('./helpers/garbage.py', import.meta.url));
const have = haveRig('tcpdump', 'nginx', 'curl', 'wrk', 'python3', 'nft') && haveDpdk() && haveTshark();
const NEEDS = 'root, iproute2, ethtool, libdpdk-dev, tcpdump, nginx-light, curl, wrk, python3, nftables, tshark';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs rssplane in our namespace until it exits. */
function ours(rig: Rig, args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = rig.spawnOurs([CLI, ...args]);
  let stdout = '', stderr = '';
  child.stdout!.on('data', (b) => (stdout += b));
  child.stderr!.on('data', (b) => (stderr += b));
  const done = new Promise<Run>((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
  return { child, done };
}

const link = (rig: Rig, cores = 1) => ['--ip', OURS.cidr4, '--ip6', OURS.cidr6, '--eal', rig.eal(), '--cores', String(cores)];

type Summary = Record<string, any>;

async function connect(rig: Rig, url: string, args: string[], cores = 1): Promise<Summary> {
  const r = await ours(rig, ['connect', url, ...link(rig, cores), '--json', ...args]).done;
  if (r.code !== 0) throw new Error(`connect exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The CRC-32 (as our digests are printed) of a file nginx serves. */
function crc32(bytes: Uint8Array): string {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ((~c) >>> 0).toString(16).padStart(8, '0');
}

function expectClean(s: Summary, connections: number, requests: number, body: string, cores: number): void {
  expect(s.errors).toEqual({ connect_timeout: 0, reset: 0, timeout: 0, bad_response: 0, port_exhausted: 0 });
  expect(s.connections).toBe(connections);
  expect(s.requests).toBe(requests);
  expect(s.status).toEqual({ 200: requests });
  expect(s.digests).toEqual({ [body]: requests });
  expect(s.misdelivered).toBe(0);
  expect(s.open_at_end).toBe(0);
  expect(s.cores).toHaveLength(cores);
  // Every port back in its pool (the server closed first and holds the TIME-WAIT).
  for (const c of s.cores) expect(c.ports_available).toBe(c.ports);
  expect(s.wire.link.received).toBe(s.wire.link.processed + s.wire.link.dropped);
}

/** Copies the rig's capture (stopped) and `summary` into test-artifacts/ (git-ignored); returns the directory. */
async function keepForLater(rig: Rig, summary: Summary): Promise<string> {
  const dir = fileURLToPath(new URL(`../test-artifacts/link-tcp-loss-${Date.now()}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  copyFileSync(await rig.stopCapture(), join(dir, 'kernel.pcap'));
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return dir;
}

describeWithDependency(NEEDS, have, 'connect and serve on a veth, against the kernel (net_af_packet)', () => {
  let rig: Rig;
  let small: string, large: string;
  beforeAll(async () => {
    rig = await createRig({ nginx: true, capture: true });
    small = crc32(readFileSync(join(rig.dir, 'nginx', 'www', '1k')));
    large = crc32(readFileSync(join(rig.dir, 'nginx', 'www', '1m')));
  });
  afterAll(async () => {
    await rig?.close();
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(left).not.toContain(rig.kernelNs);
  });

  it.each([
    // family, cores, requests a connection, file: each dimension both ways
    { v: 4, cores: 1, rpc: 1, file: '1k', connections: 2000, concurrency: 16 },
    { v: 4, cores: 2, rpc: 4, file: '1m', connections: 24, concurrency: 4 },
    { v: 6, cores: 2, rpc: 1, file: '1k', connections: 2000, concurrency: 16 },
    { v: 6, cores: 1, rpc: 10, file: '1k', connections: 200, concurrency: 16 },
  ])('connect to nginx over IPv$v on $cores core(s), $rpc request(s) a connection, /$file: every body byte-exact, nothing misdelivered', async (t) => {
    const host = t.v === 4 ? KERNEL.ipv4 : `[${KERNEL.ipv6}]`;
    const s = await connect(rig, `http://${host}/${t.file}`, ['--connections', String(t.connections), '--concurrency', String(t.concurrency),
      '--requests-per-connection', String(t.rpc)], t.cores);
    expectClean(s, t.connections, t.connections * t.rpc, t.file === '1k' ? small : large, t.cores);
    expect(s.bytes_received).toBe(t.connections * t.rpc * (t.file === '1k' ? 1024 : 1 << 20));
    expect(s.wire).toMatchObject({ kind: 'link', driver: 'net_af_packet', family: t.v, next_hop_mac: KERNEL.mac });
    // The load shared by the pools: each core opened its share.
    for (const c of s.cores) expect(c.connections).toBe(t.connections / t.cores);
  });

  it('5% random loss both ways: every response complete, retransmits, no connection left open; the kernel never sent a RST and tshark flags only what loss explains', async () => {
    rig.setLoss(5);
    let s: Summary;
    try {
      s = await connect(rig, `http://${KERNEL.ipv4}/1k`, ['--connections', '200', '--concurrency', '40', '--requests-per-connection', '2', '--timeout', '30'], 2);
    } finally {
      rig.setLoss(0);
    }
    try {
      expectClean(s, 200, 400, small, 2);
    } catch (e) {
      // Loss makes each failure its own: keep what explains it (the kernel's side of the link,
      // every run of this file so far, and our summary) where a rerun does not remove it.
      const kept = await keepForLater(rig, s);
      throw new Error(`${(e as Error).message}\n(the kernel's capture and the summary are in ${kept})`);
    }
    expect(s.retransmits).toBeGreaterThan(0);
    const pcap = await rig.stopCapture();
    // The whole file's capture: every run so far, and this one.
    const rst = spawnSync('tshark', ['-r', pcap, '-Y', `tcp.flags.reset == 1 && ip.src == ${KERNEL.ipv4} || tcp.flags.reset == 1 && ipv6.src == ${KERNEL.ipv6}`], { encoding: 'utf8' });
    expect(rst.stdout.trim()).toBe('');
    // Port 80's payload decoded as plain data: nginx's 1 MiB of random bytes would otherwise parse
    // as broken HTTP continuations (or whatever heuristic claims them); Ethernet, IP and TCP are
    // what is judged here.
    const malformed = spawnSync('tshark', ['-r', pcap, '-d', 'tcp.port==80,data', '-Y', '_ws.malformed || _ws.expert.severity >= error && !tcp.analysis'], { encoding: 'utf8' });
    expect(malformed.stdout.trim().split('\n').slice(0, 10).join('\n')).toBe('');
    // TCP analysis flags: those loss explains (retransmissions, duplicate ACKs, segments not
    // captured or out of order), ports reused by later runs (the pools hand them out again), and
    // the window filling as a 1 MiB body arrives; any other flag is a frame to look at.
    const explained = ['retransmission', 'fast_retransmission', 'spurious_retransmission', 'duplicate_ack', 'lost_segment',
      'ack_lost_segment', 'out_of_order', 'reused_ports', 'window_update', 'window_full'];
    const filter = `tcp.analysis.flags && ${explained.map((f) => `!tcp.analysis.${f}`).join(' && ')}`;
    const unexplained = spawnSync('tshark', ['-r', pcap, '-Y', filter], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(unexplained.stdout.trim().split('\n').slice(0, 10).join('\n')).toBe('');
    await rig.startCapture();
  }, 120_000);

  it('--ports random on 2 cores: the run completes, and about half the segments in land on the other core and are forwarded', async () => {
    const s = await connect(rig, `http://${KERNEL.ipv4}/1k`, ['--connections', '1000', '--concurrency', '16', '--ports', 'random'], 2);
    expect(s.errors).toEqual({ connect_timeout: 0, reset: 0, timeout: 0, bad_response: 0, port_exhausted: 0 });
    expect(s.digests).toEqual({ [small]: 1000 });
    expect(s.misdelivered_share).toBeGreaterThan(0.4);
    expect(s.misdelivered_share).toBeLessThan(0.6);
    expect(s.wire.forwarded).toBe(s.misdelivered);
  });

  it('serve answers curl (headers, body) and wrk from the kernel\'s namespace, over IPv4 and IPv6, with no socket errors', async () => {
    const run = ours(rig, ['serve', ...link(rig, 2), '--response-bytes', '4096', '--json']);
    try {
      // Ready when it says so on stderr (the port is up and the endpoints listen).
      await new Promise<void>((resolve, reject) => {
        let text = '';
        run.child.stderr!.on('data', (b) => {
          text += b;
          if (/rssplane: serving on/.test(text)) resolve();
        });
        void run.done.then((r) => reject(new Error(`serve exited ${r.code}: ${r.stderr}`)));
      });
      const body = serverBody(4096);
      const sha = createHash('sha256').update(body).digest('hex');
      for (const host of [OURS.ipv4, `[${OURS.ipv6}]`]) {
        const head = rig.inKernel('curl', ['-s', '-D', '-', '-o', '/dev/null', '--max-time', '5', `http://${host}/`]);
        expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(head.stdout).toMatch(/\r\nContent-Length: 4096\r\n/i);
        const got = rig.inKernel('sh', ['-c', `curl -s --max-time 5 http://${host}/ | sha256sum`]);
        expect(got.stdout.split(' ')[0]).toBe(sha);
        for (const close of [false, true]) {
          const wrk = rig.inKernel('wrk', ['-t1', '-c8', '-d1s', ...(close ? ['-H', 'Connection: close'] : []), `http://${host}/`]);
          expect(wrk.stdout).not.toMatch(/Socket errors|Non-2xx/);
          expect(Number(/(\d+) requests in/.exec(wrk.stdout)![1])).toBeGreaterThan(100);
        }
      }
    } finally {
      run.child.kill('SIGINT');
    }
    const r = await run.done;
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.requests).toBeGreaterThan(400);
    // (resets: wrk ends by closing its connections, some with a response unread: the kernel resets those)
    expect(s.errors).toMatchObject({ bad_request: 0, idle_closed: 0, no_tcb: 0 });
    expect(s.wire.link.received).toBe(s.wire.link.processed + s.wire.link.dropped);
  }, 60_000);

  it('a peer that never answers ARP: one line naming it, exit 1, the summary printed', async () => {
    const r = await ours(rig, ['connect', 'http://198.18.0.9/', ...link(rig), '--json', '--connections', '10']).done;
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('rssplane:'));
    expect(lines).toEqual([expect.stringMatching(/^rssplane: no ARP answer from 198\.18\.0\.9 to 3 ARP requests in \d+(\.\d)? s: is it up and on the link of 198\.18\.0\.2\/24\?$/)]);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ connections: 0, requests: 0, error: 'failed' });
    expect(s.wire.link.arp_requests_sent).toBe(3);
  }, 30_000);

  it('a closed port: the kernel\'s RSTs end every connection as reset, and the run ends with its summary', async () => {
    const s = await connect(rig, `http://${KERNEL.ipv4}:81/`, ['--connections', '20', '--concurrency', '4']);
    expect(s.connections).toBe(0);
    expect(s.errors.reset).toBe(20);
    expect(s.open_at_end).toBe(0);
  });

  it('a server that resets mid-body: counted as reset, nothing hangs', async () => {
    // A Python server in the kernel's namespace: headers for 1 MiB, 64 KiB of it, then RST (SO_LINGER 0).
    const script = `
import socket, struct
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${KERNEL.ipv4}', 8080)); s.listen(64)
print('up', flush=True)
for _ in range(5):
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 1048576\\r\\n\\r\\n' + b'x' * 65536)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
`;
    const py = rig.spawnKernel(['python3', '-c', script]);
    await new Promise<void>((resolve) => py.stdout!.once('data', () => resolve()));
    const s = await connect(rig, `http://${KERNEL.ipv4}:8080/`, ['--connections', '5', '--concurrency', '1', '--timeout', '5']);
    py.kill('SIGKILL');
    expect(s.errors.reset).toBe(5);
    expect(s.requests).toBe(0);
    expect(s.open_at_end).toBe(0);
  }, 30_000);

  it('a flood of garbage frames at our address during a run: counted and dropped, every response still complete', async () => {
    const run = ours(rig, ['connect', `http://${KERNEL.ipv4}/1k`, ...link(rig), '--json', '--duration', '3', '--concurrency', '8']);
    const up = await new Promise<boolean>((resolve) => {
      let text = '';
      run.child.stderr!.on('data', (b) => {
        text += b;
        if (/rssplane: connecting to/.test(text)) resolve(true);
      });
      void run.done.then(() => resolve(false));
    });
    expect(up).toBe(true);
    const flood = rig.inKernel('python3', [GARBAGE, rig.kernelIf, OURS.mac, KERNEL.mac, OURS.ipv4, OURS.ipv6, '3000', '7']);
    const r = await run.done;
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Number(flood.stdout.trim())).toBe(3000);
    expect(s.errors).toEqual({ connect_timeout: 0, reset: 0, timeout: 0, bad_response: 0, port_exhausted: 0 });
    expect(s.connections).toBeGreaterThan(100);
    expect(s.digests).toEqual({ [small]: s.requests });
    const l = s.wire.link;
    expect(l.received).toBe(l.processed + l.dropped);
    expect(l.dropped).toBeGreaterThan(1000);
  }, 60_000);
});
