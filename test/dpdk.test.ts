/**
 * The DPDK shim (native/) and `run --input dpdk`, on virtual devices: net_pcap reads captures
 * (one receive queue per file), net_ring loops each transmit queue back to its receive queue,
 * net_null offers RSS (a key and a table it keeps) and endless packets. EAL initialises once per
 * process, so every case runs in a child process: the CLI, or test/native/dpdk-calls.mjs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { CLI, expectUsageError, rssplane } from './helpers/cli.js';
import { runWithRecords } from './helpers/run.js';
import { describeWithDependency, haveDpdk } from './helpers/deps.js';
import { jsonLines, LiveRun } from './helpers/live.js';

const dir = mkdtempSync(join(tmpdir(), 'rssplane-dpdk-'));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/captures/${name}`, import.meta.url));
const ADDON = fileURLToPath(new URL('../dist/rssplane_dpdk.node', import.meta.url));
const EAL = '--no-huge -m 256 --no-pci';
const CAPTURES = ['ipv4.pcap', 'ipv4-loss.pcap', 'ipv6.pcap'];

const run = (args: string[], name: string) => runWithRecords(dir, args, name);

describeWithDependency('libdpdk-dev', haveDpdk(), 'the DPDK shim', () => {
  it('was built by npm ci, next to the bundles', () => {
    expect(existsSync(ADDON)).toBe(true);
  });

  it('net_pcap with three receive queues (one per capture) gives the flow records of --input on each capture', () => {
    const vdev = `net_pcap0,${CAPTURES.map((c) => `rx_pcap=${fixture(c)}`).join(',')}`;
    const expected: string[] = [];
    let packets = 0;
    const queues: number[] = [0, 0, 0, 0];
    for (const c of CAPTURES) {
      const one = run(['--input', fixture(c), '--reta', 'equal:4', '--cores', '1'], `input-${c}`);
      expected.push(...one.records);
      packets += one.summary.packets;
      one.summary.queues.forEach((q: { queue: number; packets: number }) => (queues[q.queue] = queues[q.queue]! + q.packets));
    }
    for (const cores of [1, 2]) {
      const d = run(['--input', 'dpdk', '--eal', `${EAL} --vdev ${vdev}`, '--reta', 'equal:4', '--cores', String(cores)], `dpdk-${cores}`);
      expect(d.records).toEqual([...expected].sort());
      expect(d.summary.packets).toBe(packets);
      expect(d.summary.queues.map((q: { packets: number }) => q.packets)).toEqual(queues);
      expect(d.summary.dpdk).toMatchObject({ port: 0, driver: 'net_pcap', rx_queues: 3, rss: 'software', ipackets: packets, imissed: 0, rx_nombuf: 0 });
      expect(d.summary.cores.length).toBe(cores);
      for (const c of d.summary.cores) expect(c.received).toBe(c.packets + c.dropped);
    }
  });

  it('a symmetric key over net_pcap keeps every connection on one core', () => {
    const d = run(['--input', 'dpdk', '--eal', `${EAL} --vdev net_pcap0,rx_pcap=${fixture('ipv4-loss.pcap')}`, '--key', 'symmetric', '--cores', '2'], 'sym');
    expect(d.summary.flows).toBe(14);
    expect(d.summary.split_flows).toBe(0);
  });

  it('net_ring loops transmitted packets back to receive; info, configure, rx and tx from a worker thread', () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('./native/dpdk-calls.mjs', import.meta.url)), ADDON, fixture('ipv4.pcap')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.init).toEqual({ ok: true, ports: 2 });
    expect(o.ring).toMatchObject({ driver: 'net_ring', maxRxQueues: 16, rssHashTypes: '0', retaSize: 0 });
    expect(o.null).toMatchObject({ driver: 'net_null', maxRxQueues: 1024, retaSize: 128 });
    expect(o.ringConfigured).toMatchObject({ rss: false, rxDescriptors: 1024 });
    expect(o.ringRss).toEqual({ conf: null, reta: null }); // no RSS: software spreads its packets

    // From the worker: 100 frames of ipv4.pcap out of transmit queue 1 and back into receive queue 1.
    const w = o.worker;
    expect(w.lcore).toBeGreaterThan(0); // registered with EAL (rte_thread_register), not the main lcore
    expect(o.mainLcore).toBe(0);
    expect([w.sent, w.filled, w.again, w.sent2, w.filled2, w.packets]).toEqual([100, 100, 0, 100, 100, 100]);
    expect(w.sameBytes).toBe(true);
    expect(w.first).toMatchObject({ at: 0, caplen: 110, wirelen: 110, linktype: 1, iface: 0, queue: 1, flags: 0 });
    expect(w.first.hex.slice(0, 28)).toBe('333300000016825e1d43d18186dd'); // the capture's first frame: IPv6 multicast
    expect([w.empty, w.otherQueueEmpty]).toEqual([0, 0]);
    expect(o.stats).toMatchObject({ ipackets: 200, opackets: 200, queueIpackets: [0, 200], queueOpackets: [0, 200] });
    expect(o.sharedSeen).toBe(100); // the worker filled the SharedArrayBuffer the main thread holds

    // net_null keeps the key and table it is given: read back, they are what was asked.
    expect(o.nullRss.rss).toBe(true);
    expect(o.nullRss.key).toBe('6d5a'.repeat(20));
    expect(o.nullRss.reta).toEqual(o.nullRss.retaAsked);
    expect(o.nullRss.hashTypes).toBe(String((1n << 2n) | (1n << 4n)));

    // Errors are values with an errno code, never a crash.
    expect(o.errors.noPort).toEqual({ code: 'ENODEV', message: 'no DPDK port 7: EAL found 2 ports' });
    expect(o.errors.tooManyQueues.code).toBe('EINVAL');
    expect(o.errors.eal.code).toBe('EALREADY');
    expect(w.errors.noQueue).toEqual({ code: 'EINVAL', message: 'port 0 has 2 receive queues: no queue 9' });
    expect(w.errors.outside.message).toMatch(/runs past the memory/);
    expect(w.errors.smallSlot.code).toBe('EINVAL');
    expect(w.errors.notBytes.code).toBe('EINVAL');
    expect(w.closed).toEqual({ code: 'EINVAL', message: 'this queue is closed' });
    expect(o.finalState).toBe('cleaned');
  });

  it('dpdk info: what net_null and net_ring offer; --configure reads back the key and table the port took', () => {
    const eal = `${EAL} --vdev net_null0 --vdev net_ring0`;
    const r = rssplane(['dpdk', 'info', '--eal', eal, '--json']);
    expect(r.stderr).toBe('');
    const { ports } = JSON.parse(r.stdout);
    expect(ports.map((p: { driver: string }) => p.driver)).toEqual(['net_null', 'net_ring']);
    expect(ports[0]).toMatchObject({ max_rx_queues: 1024, reta_size: 128 });
    expect(ports[0].rss_hash_types).toEqual(expect.arrayContaining(['ipv4', 'ipv4-tcp', 'ipv6-tcp', 'ipv6-udp']));
    expect(ports[1]).toMatchObject({ max_rx_queues: 16, reta_size: 0, rss_hash_types: [] });

    const c = rssplane(['dpdk', 'info', '--eal', eal, '--port', '0', '--configure', '4', '--key', 'symmetric', '--reta', 'weight:1,1,2,4', '--json']);
    expect(c.stderr).toBe('');
    const configured = JSON.parse(c.stdout).configured;
    expect(configured).toMatchObject({ rx_queues: 4, rss: 'device', key: '6d5a'.repeat(20), reta_size: 128, key_as_asked: true, reta_as_asked: true });
    expect(configured.reta.slice(0, 16)).toEqual(Array(16).fill(0));
    expect(configured.reta.slice(64)).toEqual(Array(64).fill(3));
    const human = rssplane(['dpdk', 'info', '--eal', eal, '--port', '1']);
    expect(human.stdout).toContain('RSS hash types   none: no RSS');
  });

  it('Ctrl-C ends a live port\'s input (net_null never runs dry) and the run reports what it took', async () => {
    // Ready when the live stats have seen packets come in (--json-stats: a line a second).
    const stats = join(dir, 'sigint-stats.jsonl');
    const live = new LiveRun(['--input', 'dpdk', '--eal', `${EAL} --vdev net_null0`, '--cores', '2', '--json-stats', stats, '--json', '--no-progress']);
    try {
      await live.statsLines(stats, 1, (l) => l.packets > 0);
      live.child.kill('SIGINT');
      expect(await live.end()).toBe(0);
    } finally {
      live.kill();
    }
    expect(live.stderr).toBe('rssplane: reading DPDK port 0 (net_null): Ctrl-C ends the input\n');
    const s = JSON.parse(live.stdout);
    expect(jsonLines(stats).at(-1)).toMatchObject({ end: true, packets: s.packets });
    expect(s.packets).toBeGreaterThan(1000);
    expect(s.received).toBe(s.processed + s.dropped);
    expect(s.unhashed).toBe(s.processed); // net_null's packets are zeros: not IP, queue 0, as a NIC does
    expect(s.dpdk).toMatchObject({ driver: 'net_null', rx_queues: 2, rss: 'device' });
  });
});

describeWithDependency('libdpdk-dev', haveDpdk(), 'bench dpdk', () => {
  it('--json has pps_per_core (into the rings) and pps_per_core_engine, from net_null\'s packets', () => {
    const r = rssplane(['bench', 'dpdk', '--cores', '2', '--packets', '200000', '--rounds', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b).toMatchObject({ bench: 'dpdk', cores: 2, port: { driver: 'net_null', imissed: 0, rx_nombuf: 0 } });
    expect(b.pps_per_core).toBeGreaterThan(0);
    expect(b.pps_per_core_engine).toBeGreaterThan(0);
    expect(b.rounds_pps_per_core).toHaveLength(1);
    expect(b.rounds_pps_per_core[0]).toHaveLength(2);
    // Every round of every core took at least its packets from the port (warm-up rounds too).
    expect(b.port.ipackets).toBeGreaterThanOrEqual(2 * 2 * 2 * 200000);
  });
});

describeWithDependency('libdpdk-dev', haveDpdk(), 'DPDK mistakes: one line, exit 2', () => {
  it('bad EAL arguments name what EAL objected to', () => {
    expectUsageError(rssplane(['run', '--input', 'dpdk', '--eal', '--no-huge --bogus']), "unrecognized option '--bogus'");
    expectUsageError(rssplane(['dpdk', 'info', '--eal', '--no-huge -m 256 --no-pci -l 7']), 'lcore 7 unavailable');
    expectUsageError(rssplane(['run', '--input', 'dpdk', '--eal', '--no-huge -m 256 --no-pci --vdev net_bogus0']), 'net_bogus0');
  });

  it('a missing port, and a device whose file is missing', () => {
    expectUsageError(rssplane(['run', '--input', 'dpdk', '--eal', `${EAL} --vdev net_null0`, '--port', '3']), 'bad --port "3": no such DPDK port; EAL found 1 port');
    const r = rssplane(['run', '--input', 'dpdk', '--eal', `${EAL} --vdev net_pcap0,rx_pcap=${join(dir, 'missing.pcap')}`]);
    expectUsageError(r, 'missing.pcap');
    expect(r.stderr).toMatch(/no such DPDK port; EAL found no port \(Couldn't open .*missing\.pcap/);
  });

  it('--input dpdk without --eal, and more receive queues than the port has', () => {
    expectUsageError(rssplane(['run', '--input', 'dpdk']), '--eal');
    expectUsageError(rssplane(['run', '--input', 'dpdk', '--eal', `${EAL} --vdev net_null0`, '--rx-queues', '2000']), '--rx-queues');
  });
});

it('without the addon, --input dpdk says in one line what to install', () => {
  const none = { env: { RSSPLANE_DPDK_ADDON: join(dir, 'none.node') } };
  expectUsageError(rssplane(['run', '--input', 'dpdk', '--eal', '--no-huge'], none), 'apt-get install libdpdk-dev');
  expectUsageError(rssplane(['dpdk', 'info', '--eal', '--no-huge'], none), 'built without DPDK');
});

it('DPDK options without --input dpdk are refused', () => {
  expectUsageError(rssplane(['run', '--eal', '--no-huge']), '--eal');
  expectUsageError(rssplane(['run', '--port', '1', '--conversations', '10']), '--port');
  expectUsageError(rssplane(['run', '--input', 'synthetic', '--rx-queues', '2']), '--rx-queues');
});
