/**
 * Captures as operators take them: real HTTP traffic (curl against Python's http.server, IPv4 and
 * IPv6) between two network namespaces joined by a veth pair, captured at the same time by three
 * tcpdumps in the client's namespace: `tcpdump -i any` (LINUX_SLL2 with libpcap 1.10 and later),
 * `tcpdump -y LINUX_SLL -i any` (cooked v1) and `tcpdump -i VETH` (Ethernet). The cooked captures'
 * flows are held against `tshark -z conv,tcp`, and all three must give the same packets per queue,
 * on one core and steered in software across two; each cooked frame counts its own bytes.
 *
 * Needs root (namespaces). Names carry the process id; addresses are 198.18.0.0/15 and
 * 2001:db8::/32 only, inside the namespaces, which are removed at the end, also on failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CaptureReader, Engine, FlowEngine, RssConfig, type FlowRecord } from '../host/core/index.js';
import { rssplane } from './helpers/cli.js';
import { commandWorks, describeWithDependency, haveTshark } from './helpers/deps.js';
import { expectConversations, pairKey } from './helpers/tshark.js';

const root = process.getuid?.() === 0;
const present = root && haveTshark() && commandWorks('tcpdump', ['--version']) && commandWorks('curl', ['--version'])
  && commandWorks('ip', ['-V']) && commandWorks('python3', ['--version']);

const SERVER = '198.18.0.1', CLIENT = '198.18.0.2', SERVER6 = '2001:db8::1', CLIENT6 = '2001:db8::2';
/** Only the test's own traffic: not the IPv6 router solicitations and MLD reports a new link sends on its own. */
const FILTER = 'net 198.18.0.0/15 or net 2001:db8::/32';

describeWithDependency('root, tcpdump, tshark, curl, iproute2, python3', present, 'real tcpdump -i any captures (LINUX_SLL2, LINUX_SLL) beside an Ethernet capture of the same traffic', () => {
  const id = process.pid;
  const ns = { server: `rsl${id}s`, client: `rsl${id}c` };
  const veth = { server: `rl${id}s`, client: `rl${id}c` };
  const processes: ChildProcess[] = [];
  let dir = '';
  const file = { sll2: '', sll: '', ethernet: '' };

  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const inNs = (name: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  const start = (name: string, ...args: string[]) => {
    const child = spawn('ip', ['netns', 'exec', name, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    processes.push(child);
    return child;
  };
  /** What each tcpdump wrote on stderr: at its end, how many packets the kernel dropped. */
  const said = new Map<ChildProcess, string>();
  /**
   * tcpdump in the client's namespace, once it says it is listening. --immediate-mode: each
   * packet is handed to tcpdump as it comes, not when the kernel's buffer block fills or times
   * out (libpcap's TPACKET_V3), so that at SIGINT everything seen has been written (-U). A 64 MiB
   * buffer (-B): the veth's offloads are on (no ethtool here), so frames are up to 64 KB.
   */
  const tcpdump = (path: string, ...args: string[]) => new Promise<ChildProcess>((resolve, reject) => {
    const child = start(ns.client, 'tcpdump', ...args, '--immediate-mode', '-B', '65536', '-s', '0', '-U', '-w', path, FILTER);
    said.set(child, '');
    child.stderr!.on('data', (chunk: Buffer) => {
      said.set(child, said.get(child) + chunk.toString());
      if (said.get(child)!.includes('listening on')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`tcpdump ${args.join(' ')} exited ${code}: ${said.get(child)}`)));
  });
  /** SIGINT (tcpdump then writes out what it holds), SIGKILL if that was not enough. */
  const stop = (child: ChildProcess) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGINT');
  });
  const curl = (url: string, seconds = 10) => {
    try {
      inNs(ns.client, 'curl', '-s', '-o', '/dev/null', '--max-time', String(seconds), url);
    } catch { /* the refused connections fail, as they should */ }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rssplane-links-live-'));
    Object.assign(file, { sll2: join(dir, 'any.pcap'), sll: join(dir, 'any-sll.pcap'), ethernet: join(dir, 'veth.pcap') });
    writeFileSync(join(dir, 'index.html'), 'hello\n');
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(200_000, 'rssplane '));
    ip('netns', 'add', ns.server);
    ip('netns', 'add', ns.client);
    ip('link', 'add', veth.server, 'type', 'veth', 'peer', 'name', veth.client);
    for (const side of ['server', 'client'] as const) {
      ip('link', 'set', veth[side], 'netns', ns[side]);
      ip('-n', ns[side], 'addr', 'add', side === 'server' ? `${SERVER}/24` : `${CLIENT}/24`, 'dev', veth[side]);
      ip('-n', ns[side], 'addr', 'add', side === 'server' ? `${SERVER6}/64` : `${CLIENT6}/64`, 'dev', veth[side], 'nodad');
      ip('-n', ns[side], 'link', 'set', 'lo', 'up');
      ip('-n', ns[side], 'link', 'set', veth[side], 'up');
    }
    start(ns.server, 'python3', '-m', 'http.server', '8080', '--bind', SERVER, '--directory', dir);
    start(ns.server, 'python3', '-m', 'http.server', '8081', '--bind', SERVER6, '--directory', dir);
    // both servers answering (before the captures start), then neighbours forgotten, so that the
    // captures hold ARP and neighbour discovery too
    for (const url of [`http://${SERVER}:8080/index.html`, `http://[${SERVER6}]:8081/index.html`]) {
      for (let tries = 0; ; tries++) {
        try {
          inNs(ns.client, 'curl', '-s', '-f', '-o', '/dev/null', '--max-time', '2', url);
          break;
        } catch (e) {
          if (tries === 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    for (const side of ['server', 'client'] as const) ip('-n', ns[side], 'neigh', 'flush', 'all');

    const captures = await Promise.all([
      tcpdump(file.sll2, '-i', 'any'),
      tcpdump(file.sll, '-y', 'LINUX_SLL', '-i', 'any'),
      tcpdump(file.ethernet, '-i', veth.client),
    ]);
    for (let i = 0; i < 4; i++) curl(`http://${SERVER}:8080/index.html`);
    curl(`http://${SERVER}:8080/big.bin`);
    for (let i = 0; i < 4; i++) curl(`http://[${SERVER6}]:8081/index.html`);
    curl(`http://[${SERVER6}]:8081/big.bin`);
    for (let i = 0; i < 2; i++) curl(`http://${SERVER}:9/`, 1); // refused: SYN answered by RST
    // the last RST is on its way; then all three stop together
    await new Promise((r) => setTimeout(r, 1000));
    await Promise.all(captures.map(stop));
    // every packet the kernel saw is in the files: otherwise the comparisons below mean nothing
    for (const child of captures) expect(said.get(child)).toMatch(/\n0 packets dropped by kernel/);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map(stop));
    for (const name of Object.values(ns)) {
      try { ip('netns', 'del', name); } catch { /* not made */ }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The capture through the capture reader and a flow engine, as `run --input` takes it on one core. */
  async function flowsOf(path: string) {
    const engine = await Engine.create();
    const flows = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows: 4096 });
    const reader = CaptureReader.create(engine, { name: path });
    for (const batch of reader.write(new Uint8Array(readFileSync(path)))) flows.process(batch);
    const summary = reader.finish();
    flows.finish();
    return { summary, stats: flows.stats(), records: flows.takeRecords().filter((r) => r.proto === 'tcp') };
  }

  const linkTypeOf = (path: string) => readFileSync(path).readUInt32LE(20);

  it('tcpdump -i any writes LINUX_SLL2, -y LINUX_SLL cooked v1, and the veth Ethernet', () => {
    expect([linkTypeOf(file.sll2), linkTypeOf(file.sll), linkTypeOf(file.ethernet)]).toEqual([276, 113, 1]);
  });

  it.each(['sll2', 'sll'] as const)('the %s capture: flows as tshark -z conv,tcp has them, IPv4 and IPv6, nothing dropped or skipped', async (which) => {
    const { summary, stats, records } = await flowsOf(file[which]);
    expect(summary.warnings).toEqual([]);
    expect(stats.drops).toEqual({});
    expect(stats.ipv4).toBeGreaterThan(0);
    expect(stats.ipv6).toBeGreaterThan(0);
    // 4 + 1 + 4 + 1 HTTP connections and 2 refused
    expect(expectConversations(file[which], records)).toBe(12);
  });

  it('the same packets per queue as the Ethernet capture, and per flow the same packets, each cooked frame with its own header bytes', async () => {
    const ethernet = await flowsOf(file.ethernet);
    const byPair = (records: FlowRecord[]) => new Map(records.map((r) => [pairKey(r.client, r.server), r]));
    const plain = byPair(ethernet.records);
    expect(ethernet.stats.unhashed).toBeGreaterThan(0); // ARP
    for (const [which, extra] of [['sll2', 20 - 14], ['sll', 16 - 14]] as const) {
      const cooked = await flowsOf(file[which]);
      expect(cooked.summary.packets, which).toBe(ethernet.summary.packets);
      expect(cooked.stats.queues, which).toEqual(ethernet.stats.queues);
      expect(cooked.stats.unhashed, which).toBe(ethernet.stats.unhashed);
      expect(cooked.summary.bytes, which).toBe(ethernet.summary.bytes + extra * ethernet.summary.packets);
      expect(cooked.records.length).toBe(plain.size);
      for (const r of cooked.records) {
        const e = plain.get(pairKey(r.client, r.server))!;
        expect([r.client, r.queues, r.dirs.map((d) => d.packets)], which).toEqual([e.client, e.queues, e.dirs.map((d) => d.packets)]);
        expect(r.dirs.map((d) => d.bytes), which).toEqual(e.dirs.map((d) => d.bytes + extra * d.packets));
      }
    }
  });

  it('rssplane run --input steered across two cores: the queues and flows of the Ethernet capture', () => {
    const run = (path: string) => {
      const r = rssplane(['run', '--input', path, '--cores', '2', '--reta', 'equal:4', '--json']);
      expect(r.stderr).toBe('');
      const j = JSON.parse(r.stdout) as { packets: number; queues: unknown; flows: number; split_flows: number; dropped: number };
      return { packets: j.packets, queues: j.queues, flows: j.flows, split: j.split_flows, dropped: j.dropped };
    };
    const ethernet = run(file.ethernet);
    expect(ethernet.flows).toBe(12);
    expect(run(file.sll2)).toEqual(ethernet);
    expect(run(file.sll)).toEqual(ethernet);
  });
});
