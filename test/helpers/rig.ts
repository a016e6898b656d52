/**
 * The test rig for rssplane on a wire against the Linux kernel: two network namespaces joined by
 * a veth pair. The kernel's namespace holds its end with 198.18.0.1/24 and 2001:db8::1/64 (nodad),
 * nginx (Debian's, started here with its own config, pid file, temp dirs and docroot) listening on
 * both, optional random loss (nftables), and a capture of its side of the link (tcpdump). Ours
 * holds the other end with no address and IPv6 off, so that the namespace's own kernel neither
 * answers nor sends anything there; rssplane runs inside it (`ip netns exec`) and reaches the veth
 * through DPDK's net_af_packet. EAL binds its packet sockets in the namespace of the process that
 * initialises it, and EAL runs once per process: so our side is a process of its own, in our
 * namespace, which also keeps the root namespace free of the rig's interfaces.
 *
 * Names carry the pid (tests of other engineers run at the same time); addresses come only from
 * 198.18.0.0/15 and 2001:db8::/32 and exist only inside these namespaces. close() (afterAll) kills
 * what the rig started and deletes both namespaces, which deletes the veth; a process exit does
 * the same as a last resort.
 *
 *   const rig = await createRig({ nginx: true, capture: true });
 *   const ours = rig.spawnOurs(['dist/link-harness.js', '--eal', rig.eal(), '--ip', rig.ours.cidr4]);
 *   rig.inKernel('ping', ['-c', '3', rig.ours.ipv4]);
 *   await rig.close();
 *
 * net_tap is the second option (`driver: 'tap'`): DPDK makes a tap interface in the namespace of
 * the process, so rssplane runs in the kernel's namespace and tapUp() gives the tap the kernel's
 * addresses once it exists; no veth, no second namespace.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface RigOptions {
  /** net_af_packet over a veth pair (default), or net_tap */
  driver?: 'af_packet' | 'tap';
  nginx?: boolean;
  /** tcpdump on the kernel's side of the link from the start */
  capture?: boolean;
  /** percent of packets nftables drops in each direction in the kernel's namespace */
  loss?: number;
}

export interface Endpoint {
  ipv4: string;
  ipv6: string;
  cidr4: string;
  cidr6: string;
  mac: string;
}

export const KERNEL: Endpoint = { ipv4: '198.18.0.1', ipv6: '2001:db8::1', cidr4: '198.18.0.1/24', cidr6: '2001:db8::1/64', mac: '02:00:00:00:00:01' };
export const OURS: Endpoint = { ipv4: '198.18.0.2', ipv6: '2001:db8::2', cidr4: '198.18.0.2/24', cidr6: '2001:db8::2/64', mac: '02:00:00:00:00:02' };

let serial = 0;
const live = new Set<Rig>();
process.on('exit', () => {
  for (const rig of live) rig.closeNow();
});

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

export class Rig {
  readonly kernelNs: string;
  readonly ourNs: string;
  /** the kernel's interface (veth end, or the tap) and ours (the veth end net_af_packet opens) */
  readonly kernelIf: string;
  readonly ourIf: string;
  readonly kernel = KERNEL;
  readonly ours = OURS;
  readonly dir: string;
  /** nginx's docroot files: /1k and /1m, random bytes, with their SHA-256 */
  readonly files = { small: { path: '/1k', bytes: 1024, sha256: '' }, large: { path: '/1m', bytes: 1 << 20, sha256: '' } };
  private readonly processes = new Set<ChildProcess>();
  private nginxPid: number | undefined;
  private capture: { child: ChildProcess; file: string } | undefined;
  private closed = false;

  constructor(readonly driver: 'af_packet' | 'tap') {
    const id = `${process.pid}${serial++}`;
    this.kernelNs = `rsp-k-${id}`;
    this.ourNs = driver === 'tap' ? this.kernelNs : `rsp-u-${id}`;
    this.kernelIf = driver === 'tap' ? `rt${id}` : `rk${id}`;
    this.ourIf = driver === 'tap' ? this.kernelIf : `ru${id}`;
    this.dir = mkdtempSync(join(tmpdir(), `rssplane-rig-${id}-`));
  }

  /** Runs a command in the kernel's namespace (throws on failure unless `check` is false). */
  inKernel(cmd: string, args: string[], options: { check?: boolean; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
    const r = spawnSync('ip', ['netns', 'exec', this.kernelNs, cmd, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, maxBuffer: 1 << 26 });
    if (options.check !== false && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${this.kernelNs}: status ${r.status}\n${r.stderr}`);
    return r;
  }

  /** Starts `node ARGS...` in our namespace (killed by close()). */
  spawnOurs(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ourNs, process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    return child;
  }

  /** Starts a command in the kernel's namespace (killed by close()). */
  spawnKernel(args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.kernelNs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    return child;
  }

  /** EAL arguments for our end: net_af_packet on our veth end (`qpairs` queue pairs), or net_tap. */
  eal(options: { qpairs?: number } = {}): string {
    const vdev = this.driver === 'tap'
      ? `net_tap0,iface=${this.ourIf}`
      : `net_af_packet0,iface=${this.ourIf}${options.qpairs ? `,qpairs=${options.qpairs}` : ''}`;
    return `--no-huge -m 512 --no-pci --vdev ${vdev}`;
  }

  /** The kernel's neighbour table (`ip neigh`), one line an entry. */
  neighbours(): string[] {
    return this.inKernel('ip', ['neigh', 'show', 'dev', this.kernelIf]).stdout.trim().split('\n').filter(Boolean);
  }

  /** net_tap: give the tap (made by DPDK when our side came up) the kernel's addresses. */
  tapUp(): void {
    sh('ip', ['-n', this.kernelNs, 'addr', 'add', KERNEL.cidr4, 'dev', this.kernelIf]);
    sh('ip', ['-n', this.kernelNs, 'addr', 'add', KERNEL.cidr6, 'dev', this.kernelIf, 'nodad']);
    sh('ip', ['-n', this.kernelNs, 'link', 'set', this.kernelIf, 'up']);
  }

  async setUp(options: RigOptions): Promise<void> {
    sh('ip', ['netns', 'add', this.kernelNs]);
    live.add(this);
    sh('ip', ['-n', this.kernelNs, 'link', 'set', 'lo', 'up']);
    if (this.driver === 'af_packet') {
      sh('ip', ['netns', 'add', this.ourNs]);
      sh('ip', ['link', 'add', this.kernelIf, 'netns', this.kernelNs, 'address', KERNEL.mac, 'type', 'veth',
        'peer', 'name', this.ourIf, 'netns', this.ourNs, 'address', OURS.mac]);
      // Our end: no address, no IPv6, so only rssplane answers what arrives there.
      sh('ip', ['netns', 'exec', this.ourNs, 'sysctl', '-qw', `net.ipv6.conf.${this.ourIf}.disable_ipv6=1`]);
      sh('ip', ['-n', this.ourNs, 'link', 'set', this.ourIf, 'up']);
      sh('ip', ['-n', this.kernelNs, 'addr', 'add', KERNEL.cidr4, 'dev', this.kernelIf]);
      sh('ip', ['-n', this.kernelNs, 'addr', 'add', KERNEL.cidr6, 'dev', this.kernelIf, 'nodad']);
      sh('ip', ['-n', this.kernelNs, 'link', 'set', this.kernelIf, 'up']);
      // The kernel's end sends whole, checksummed frames, as a NIC puts them on a wire: without
      // this a veth hands over TCP with the checksum left to "hardware" (net_af_packet gets it
      // unfilled) and segments of 64 KiB (TSO, GSO).
      sh('ip', ['netns', 'exec', this.kernelNs, 'ethtool', '-K', this.kernelIf, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
    }
    if (options.capture) await this.startCapture();
    if (options.loss) this.setLoss(options.loss);
    if (options.nginx) await this.startNginx();
  }

  /** tcpdump on the kernel's interface, into a pcap in the rig's directory. */
  async startCapture(): Promise<void> {
    const file = join(this.dir, `kernel-${Date.now()}.pcap`);
    const child = spawn('ip', ['netns', 'exec', this.kernelNs, 'tcpdump', '-i', this.kernelIf, '-n', '-U', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.stderr!.on('data', (b) => {
        text += b;
        if (/listening on/.test(text)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${text}`)));
    });
    this.capture = { child, file };
  }

  /** Stops the capture (its buffers flushed) and returns the pcap's path. */
  async stopCapture(): Promise<string> {
    const c = this.capture;
    if (!c) throw new Error('no capture running');
    this.capture = undefined;
    const exited = new Promise((r) => c.child.once('exit', r));
    c.child.kill('SIGINT');
    await exited;
    return c.file;
  }

  /**
   * Random loss of `percent` % in both directions of the kernel's namespace (0: none).
   *
   * One kind of frame is spared on its way out: a SYN-ACK sent again for the same peer and port
   * (a retransmission). A drop in the sender's own netfilter is an error to the sending call,
   * which a frame lost on a wire is not, and Linux gives up a half-open connection when its
   * SYN-ACK retransmission fails (reqsk_timer_handler drops the request): the peer's ACK that
   * follows is answered with a RST. Checked here with a raw-socket client: the SYN-ACK
   * retransmission dropped by an output rule, the ACK with data 2.5 s later got a RST; let
   * through, it completed the handshake. A connection whose SYN was lost (our RTO is then 3 s,
   * RFC 6298 5.7) and whose request after the SYN-ACK was lost too met it one run in about forty.
   * The first SYN-ACK is lost like any frame (Linux ignores that send's error).
   */
  setLoss(percent: number): void {
    spawnSync('ip', ['netns', 'exec', this.kernelNs, 'nft', 'delete', 'table', 'inet', 'rssplane_loss'], { stdio: 'ignore' });
    if (!percent) return;
    const rule = percent >= 100 ? 'drop' : `numgen random mod 100 < ${percent} drop`;
    const synAck = 'tcp flags & (syn | ack) == syn | ack';
    const script = `table inet rssplane_loss {
  set synacks4 { type ipv4_addr . inet_service; flags dynamic, timeout; timeout 60s; }
  set synacks6 { type ipv6_addr . inet_service; flags dynamic, timeout; timeout 60s; }
  chain input { type filter hook input priority 0; policy accept; ${rule}; }
  chain output {
    type filter hook output priority 0; policy accept;
    ${synAck} ip daddr . tcp dport @synacks4 accept
    ${synAck} ip6 daddr . tcp dport @synacks6 accept
    ${synAck} update @synacks4 { ip daddr . tcp dport }
    ${synAck} update @synacks6 { ip6 daddr . tcp dport }
    ${rule}
  }
}\n`;
    const r = spawnSync('ip', ['netns', 'exec', this.kernelNs, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft: ${r.stderr}`);
  }

  /** nginx in the kernel's namespace on 198.18.0.1:80 and [2001:db8::1]:80, serving /1k and /1m. */
  async startNginx(): Promise<void> {
    const root = join(this.dir, 'nginx');
    const www = join(root, 'www');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    mkdirSync(www, { recursive: true });
    for (const f of Object.values(this.files)) {
      const body = randomBytes(f.bytes);
      writeFileSync(join(www, f.path.slice(1)), body);
      f.sha256 = createHash('sha256').update(body).digest('hex');
    }
    const conf = join(root, 'nginx.conf');
    const tmp = (name: string) => join(root, 'tmp', name);
    writeFileSync(conf, `# written by test/helpers/rig.ts
user root;
worker_processes 1;
pid ${join(root, 'nginx.pid')};
error_log ${join(root, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  keepalive_requests 1000000;
  server {
    listen ${KERNEL.ipv4}:80;
    listen [${KERNEL.ipv6}]:80;
    root ${www};
  }
}
`);
    const child = spawn('ip', ['netns', 'exec', this.kernelNs, 'nginx', '-c', conf, '-p', root, '-e', join(root, 'error.log'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr += b));
    // Up when it answers; nginx writes its pid file as it starts.
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr}${safeRead(join(root, 'error.log'))}`);
      const r = this.inKernel('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', `http://${KERNEL.ipv4}/1k`], { check: false });
      if (r.stdout === '200') {
        this.nginxPid = Number(readFileSync(join(root, 'nginx.pid'), 'utf8').trim());
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nginx did not answer: ${stderr}${safeRead(join(root, 'error.log'))}`);
  }

  /** Kills what the rig started and deletes its namespaces (and with them the veth). */
  async close(): Promise<void> {
    if (this.closed) return;
    const exits = [...this.processes].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(0) : p.once('exit', r))));
    this.closeNow();
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** The synchronous part of close(), for a process on its way out. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    if (this.nginxPid) {
      try {
        process.kill(this.nginxPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    for (const p of this.processes) p.kill('SIGKILL');
    for (const ns of new Set([this.kernelNs, this.ourNs])) {
      // Whatever still runs in the namespace goes with it: nginx's workers outlive a master killed
      // before it could stop them, and would otherwise be left behind (by pid, never by name).
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').map(Number).filter((n) => n > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Builds a rig; if any step fails, what was built is taken down again before the error is thrown. */
export async function createRig(options: RigOptions = {}): Promise<Rig> {
  const rig = new Rig(options.driver ?? 'af_packet');
  try {
    await rig.setUp(options);
  } catch (e) {
    await rig.close();
    throw e;
  }
  return rig;
}

/** What the rig needs of the machine: root (namespaces), iproute2, and the tools a test names. */
export function haveRig(...tools: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  return ['ip', 'ethtool', ...tools].every((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0);
}

/**
 * Our side of the link, run by the link harness (dist/link-harness.js) in our namespace: its JSON
 * lines as events, commands on its stdin, and the summary it prints when stopped.
 */
export class OurSide {
  private readonly events: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<{ test: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line);
      } catch {
        e = { event: 'text', line };
      }
      this.events.push(e);
      for (let i = 0; i < this.waiters.length;) {
        if (this.waiters[i]!.test(e)) this.waiters.splice(i, 1)[0]!.resolve(e);
        else i++;
      }
    });
    child.stderr!.on('data', (b) => (this.stderr += b));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }

  /** The first event (already seen or coming) that passes `test`; fails if the process ends first. */
  next(test: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      void this.exited.then((code) => reject(new Error(`our side exited (${code}) before the event came: ${this.stderr}`)));
    });
  }

  event(name: string): Promise<Record<string, unknown>> {
    return this.next((e) => e.event === name);
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Asks it to resolve `address`; the answer's event. */
  resolve(address: string): Promise<Record<string, unknown>> {
    this.send(`resolve ${address}`);
    return this.next((e) => e.event === 'resolve' && e.address === address);
  }

  /** Stops it (SIGTERM) and returns its summary. */
  async stop(): Promise<Record<string, unknown>> {
    this.child.kill('SIGTERM');
    const summary = await this.event('summary');
    await this.exited;
    return summary;
  }
}
