/**
 * The visualizer in real headless Chromium (Debian's chromium, driven by playwright-core), served
 * by `rssplane visualize` as a user would run it. Numbers read off the page are held against the
 * published vectors and against the CLI on the same input; the console must stay free of errors.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rssplane } from './helpers/cli.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';
import { startVisualizer, type Visualizer } from './helpers/visualize.js';

/** Page updates are asynchronous; on a loaded machine they take more than vitest's default second. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 50 });

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);
const capture = (name: string) => new URL(`./fixtures/captures/${name}`, import.meta.url);

/** The queue counts `rssplane run --input` gives for a file and table (one core: the same engine). */
function runQueues(file: string, args: string[]): number[] {
  const r = rssplane(['run', '--input', file, '--cores', '1', '--json', ...args]);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { queues: Array<{ packets: number }> }).queues.map((q) => q.packets);
}

describeWithDependency('chromium', commandWorks(CHROMIUM, ['--version']), 'the visualizer in headless Chromium', () => {
  let server: Visualizer;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let url = '';
  const problems: string[] = [];

  const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();
  const number = (s: string) => Number(s.replace(/,/g, ''));
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS.pathname, `web-${name}.png`), fullPage: true });
  const queueCounts = () => page.$$eval('#queue-counts td[id^="queue-count-"]', (tds) => tds.map((td) => Number(td.textContent!.replace(/,/g, ''))));
  const tab = (name: string) => page.click(`#tab-${name}`);

  /** Drops `bytes` on the drop zone as a browser does when a file is dragged in from the desktop. */
  async function dropFile(name: string, bytes: Buffer): Promise<void> {
    await page.evaluate(({ name, base64 }) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name));
      const zone = document.getElementById('drop-zone')!;
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, { name, base64: bytes.toString('base64') });
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startVisualizer();
    url = server.url;
    profile = mkdtempSync(join(tmpdir(), 'rssplane-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
  });

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('the page names the engine it runs', async () => {
    expect(await text('#engine-status')).toMatch(/^WebAssembly engine: (relaxed-simd|simd) kernel$/);
  });

  it('every input has a visible label', async () => {
    for (const t of ['toeplitz', 'symmetry', 'distribution', 'pools']) {
      await tab(t);
      const unlabelled = await page.$$eval('input, select, textarea', (els) => els
        .filter((e) => (e as HTMLElement).offsetParent !== null && (e as HTMLInputElement).type !== 'radio')
        .filter((e) => {
          const label = document.querySelector(`label[for="${e.id}"]`) as HTMLElement | null;
          return !label || label.offsetParent === null || !label.textContent!.trim();
        })
        .map((e) => e.id || e.outerHTML));
      expect(unlabelled, t).toEqual([]);
    }
    const labels = await page.$$eval('label', (ls) => ls.map((l) => l.textContent!.trim()));
    for (const l of ['Key', 'Source address', 'Destination address', 'Source port', 'Destination port', 'Field set', 'Queues', 'Table size', 'Weights', 'Start']) {
      expect(labels).toContain(l);
    }
  });

  it('the first Microsoft vector, typed in: 0x51ccc178, table entry 120, queue 0, bit by bit', async () => {
    await tab('toeplitz');
    await page.selectOption('#vector', '4:1'); // start from another flow, so the typing is what changes the hash
    await poll(() => text('#toeplitz-hash')).toBe('0xc626b0ea');
    await page.fill('#src', '66.9.149.187');
    await page.fill('#dst', '161.142.100.80');
    await page.fill('#sport', '2794');
    await page.fill('#dport', '1766');
    await poll(() => text('#toeplitz-hash')).toBe('0x51ccc178');
    expect(await text('#toeplitz-index')).toBe('120'); // 0x78 & 127
    expect(await text('#toeplitz-queue')).toBe('0'); // equal:4 over 128 entries: 120 % 4
    expect(await text('#toeplitz-final')).toBe('0x51ccc178');
    // One row per set input bit: 66.9.149.187 161.142.100.80 2794 1766 has 40 of its 96 bits set.
    const ones = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6].reduce((n, b) => n + b.toString(2).replace(/0/g, '').length, 0);
    expect(await page.$$eval('#toeplitz-bits tbody tr', (rows) => rows.length)).toBe(ones + 1);
    // The first set bit is bit 1 (66 = 0b01000010): its window is the key's bits 1..32, drawn from column 1.
    const first = await page.$eval('#toeplitz-bits tbody tr', (row) => [row.querySelector('.c2')!.textContent, row.querySelector('.strip')!.textContent]);
    expect(first[0]).toBe('0xdab4adb4'); // 0x6d5a56da25 << 1, 32 bits
    expect(first[1]).toBe(` ${(0xdab4adb4).toString(2).padStart(32, '0')}`);
    await shot('toeplitz-ipv4');
    expect(problems).toEqual([]);
  });

  it('IPv6: the field set carries the vector along, and the published IPv6 hashes are read off the page', async () => {
    await page.selectOption('#fields', 'ipv6-l4');
    await poll(() => text('#toeplitz-hash')).toBe('0x40207d3d');
    expect(await page.inputValue('#src')).toBe('3ffe:2501:200:1fff::7');
    await page.selectOption('#vector', '6:1');
    await poll(() => text('#toeplitz-hash')).toBe('0xdde51bbf');
    await page.selectOption('#fields', 'ipv6');
    await poll(() => text('#toeplitz-hash')).toBe('0x0f0c461c');
    expect(await page.isDisabled('#sport')).toBe(true);
    // A typed IPv6 flow: the third vector.
    await page.selectOption('#fields', 'ipv6-l4');
    await page.fill('#src', '3ffe:1900:4545:3:200:f8ff:fe21:67cf');
    await page.fill('#dst', 'fe80::200:f8ff:fe21:67cf');
    await page.fill('#sport', '44251');
    await page.fill('#dport', '38024');
    await poll(() => text('#toeplitz-hash')).toBe('0x02d1feef');
    await shot('toeplitz-ipv6');
    await page.selectOption('#fields', 'ipv4-l4');
    await page.selectOption('#vector', '4:0');
    await poll(() => text('#toeplitz-hash')).toBe('0x51ccc178');
    expect(problems).toEqual([]);
  });

  it('bad input is shown beside its field, and the page keeps working', async () => {
    await page.fill('#key', '6d:5a:zz');
    await poll(() => text('#key-error')).toBe('bad key "6d:5a:zz": byte 3 ("zz") is not two hex digits');
    await page.fill('#key', '6d5a56da255b0ec2');
    await poll(() => text('#key-error')).toContain('field set ipv4-l4 needs a key of at least 16 bytes');
    expect(await page.getAttribute('#key', 'class')).toContain('invalid');
    await page.fill('#src', '66.9.149.300');
    await poll(() => text('#src-error')).toBe('bad source address "66.9.149.300": part 4 must be a number from 0 to 255');
    await page.fill('#dport', '70000');
    await poll(() => text('#dport-error')).toContain('a port is a number from 0 to 65535');
    await shot('errors');
    expect(await page.isVisible('#toeplitz-bits')).toBe(true);
    await page.selectOption('#key-preset', 'microsoft');
    await page.selectOption('#vector', '4:0');
    await poll(() => text('#toeplitz-hash')).toBe('0x51ccc178');
    await poll(() => text('#key-error')).toBe('');
    await poll(() => text('#src-error')).toBe('');
    expect(await page.isVisible('#fatal')).toBe(false);
    expect(problems).toEqual([]);
  });

  it('symmetry: the reply lands elsewhere under the Microsoft key, with the proof; the symmetric key brings it home', async () => {
    await tab('symmetry');
    await poll(() => text('#forward-hash')).toBe('0x51ccc178');
    expect(await text('#reverse-tuple')).toBe('161.142.100.80:1766  →  66.9.149.187:2794');
    expect(await text('#analysis-symmetric')).toBe('no');
    expect(await text('#analysis-rank')).toBe('32 of 32');
    expect(await text('#analysis-reason')).toContain('input bit 0 (source) hashes to 0x6d5a56da');
    await shot('symmetry-microsoft');
    await page.getByRole('button', { name: /symmetric key/ }).click();
    await poll(() => text('#analysis-symmetric')).toBe('yes, for every tuple of the field set');
    expect(await text('#forward-hash')).toBe(await text('#reverse-hash'));
    expect(await text('#symmetry-verdict')).toContain('Both directions hash to');
    await page.selectOption('#key-preset', 'mtcp');
    await poll(() => text('#analysis-distinct-hashes')).toBe('64 (2^6)');
    await shot('symmetry-mtcp');
    await page.selectOption('#key-preset', 'microsoft');
    expect(problems).toEqual([]);
  });

  it('distribution: a million random flows counted per queue; the table editor and the ethtool -X line update live', async () => {
    await tab('distribution');
    await poll(() => text('#stat-flows')).toBe('1,000,000');
    await page.click('#regenerate');
    await poll(() => text('#distribution-timing')).toMatch(/^1,000,000 ipv4-l4 flows: tuples from crypto.getRandomValues in [0-9.]+ ms, hashed in one WASM call in [0-9.]+ ms/);
    let counts = await queueCounts();
    expect(counts.length).toBe(4);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(Math.min(...counts)).toBeGreaterThan(240_000); // random flows, Microsoft key, equal:4: within a few hundred of 250,000
    expect(await text('#ethtool-command')).toBe(`ethtool -X eth0 hkey ${'6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa'} equal 4 hfunc toeplitz`);

    await page.selectOption('#reta-mode', 'weight');
    await page.fill('#reta-weights', '4 2 1 1');
    await page.fill('#reta-start', '2');
    await page.fill('#dev', 'ens1f0');
    await poll(async () => (await queueCounts()).length).toBe(6);
    counts = await queueCounts();
    expect(counts.slice(0, 2)).toEqual([0, 0]); // start 2: queues 0 and 1 get no entry
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(counts[2]!).toBeGreaterThan(1.8 * counts[3]!); // weight 4 against 2
    expect(await text('#distribution-timing')).toContain('hashes kept (only the table changed)');
    // (the device name is filled last: its redraw may come a frame after the counts')
    await poll(() => text('#ethtool-command')).toMatch(/^ethtool -X ens1f0 hkey 6d:5a:\S+ start 2 weight 4 2 1 1 hfunc toeplitz$/);
    await shot('distribution-random');

    await page.fill('#reta-weights', '4 2 x');
    await poll(() => text('#reta-error')).toBe('bad weights "x": expected a whole number');
    await page.fill('#reta-weights', '1 1 1');
    await page.fill('#reta-start', '0');
    await page.selectOption('#reta-mode', 'equal');
    await page.fill('#dev', 'eth0');
    await poll(async () => (await queueCounts()).length).toBe(4);
    expect(problems).toEqual([]);
  });

  it('a dropped capture: the per-queue counts are those of rssplane run --input, and follow the table', async () => {
    await tab('distribution');
    const file = capture('ipv4.pcap').pathname;
    await dropFile('ipv4.pcap', readFileSync(file));
    await poll(() => text('#stat-packets')).toBe('182');
    const equal4 = runQueues(file, ['--reta', 'equal:4']);
    expect(await queueCounts()).toEqual(equal4);
    expect(await text('#distribution-timing')).toContain('ipv4.pcap: 77,728 bytes (pcap)');
    await shot('distribution-capture');

    // The histogram follows the table: weights over a 64-entry table.
    const histogram = await page.innerHTML('#histogram');
    await page.selectOption('#reta-size', '64');
    await page.selectOption('#reta-mode', 'weight');
    await page.fill('#reta-weights', '3 1 1 1');
    const weighted = runQueues(file, ['--reta', 'weight:3,1,1,1', '--reta-size', '64']);
    expect(weighted).not.toEqual(equal4);
    await poll(() => queueCounts()).toEqual(weighted);
    expect(await page.innerHTML('#histogram')).not.toBe(histogram);

    // Another capture through the file input, under the symmetric key: IPv6 and IPv4 packets.
    await page.selectOption('#key-preset', 'symmetric');
    const six = capture('ipv6.pcap').pathname;
    await page.setInputFiles('#capture-file', six);
    await poll(() => text('#stat-packets')).toBe('281');
    await poll(() => queueCounts()).toEqual(runQueues(six, ['--key', 'symmetric', '--reta', 'weight:3,1,1,1', '--reta-size', '64']));
    await shot('distribution-capture-ipv6');

    // The same packets with Linux cooked (SLL2, SLL) headers on two of its three interfaces
    // (make-links.mjs): read as `run --input` reads them, the queues of the Ethernet capture.
    const cooked = capture('links.pcapng').pathname;
    await dropFile('links.pcapng', readFileSync(cooked));
    await poll(() => text('#distribution-timing')).toContain('links.pcapng');
    expect(await text('#stat-packets')).toBe('281');
    const cookedQueues = runQueues(cooked, ['--key', 'symmetric', '--reta', 'weight:3,1,1,1', '--reta-size', '64']);
    expect(cookedQueues).toEqual(runQueues(six, ['--key', 'symmetric', '--reta', 'weight:3,1,1,1', '--reta-size', '64']));
    await poll(() => queueCounts()).toEqual(cookedQueues);
    expect(await text('#distribution-warnings')).toBe('');

    await dropFile('notes.txt', Buffer.from('these are not packets\n'));
    await poll(() => text('#capture-error')).toContain('capture "notes.txt" is not a pcap or pcapng file');
    await shot('distribution-not-a-capture');
    await page.selectOption('#key-preset', 'microsoft');
    await page.selectOption('#reta-mode', 'equal');
    await page.selectOption('#reta-size', '128');
    await page.check('#source-random');
    expect(problems).toEqual([]);
  });

  it('advice for a dropped capture: the numbers of rssplane advise, the proposed table beside the current one, Fix 1 applied', async () => {
    await tab('distribution');
    const file = capture('ipv4.pcap').pathname;
    await dropFile('ipv4.pcap', readFileSync(file));
    await poll(() => text('#stat-packets')).toBe('182');
    const advise = (args: string[]) => JSON.parse(rssplane(['advise', '--input', file, '--cores', '1', '--reta', 'equal:4', '--json', ...args]).stdout) as {
      imbalance: number; bound_imbalance: number; weights: { command: string; weights: number[] }; diagnoses: Array<{ code: string }>;
      table: { moves: number; flows_moved: number; imbalance: number; queues: Array<{ load: number }>; moved: Array<{ index: number }> };
    };
    const data = async () => (await page.$eval('#advice', (e) => ({ ...(e as HTMLElement).dataset }))) as Record<string, string>;
    const same = async (cli: ReturnType<typeof advise>) => {
      await poll(async () => (await data()).moves).toBe(String(cli.table.moves));
      const d = await data();
      expect(Math.abs(Number(d.imbalance) - cli.imbalance)).toBeLessThan(1e-3);
      expect(Math.abs(Number(d.boundImbalance) - cli.bound_imbalance)).toBeLessThan(1e-3);
      expect(Math.abs(Number(d.tableImbalance) - cli.table.imbalance)).toBeLessThan(1e-3);
      expect(d.flowsMoved).toBe(String(cli.table.flows_moved));
      expect(d.diagnoses).toBe(cli.diagnoses.map((x) => x.code).join(' '));
      expect(await text('#advice-weights')).toBe(cli.weights.command);
      const proposed = await page.$$eval('td[id^="advice-table-"]', (tds) => tds.map((td) => Number(td.textContent!.replace(/,/g, ''))));
      expect(proposed).toEqual(cli.table.queues.map((q) => q.load));
    };
    const packets = advise([]);
    await same(packets);
    expect(packets.table.moves).toBeGreaterThan(0);
    // The proposed table is drawn beside the current one: a moved entry's cell has a dark centre there.
    const moved = packets.table.moved[0]!.index;
    const centre = (id: string) => page.$eval(`#${id}`, (c, i) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData((i % 32) * 9 + 4, Math.floor(i / 32) * 9 + 4, 1, 1).data), moved);
    expect(await centre('reta-proposed')).toEqual([26, 32, 44, 255]);
    await shot('distribution-advice');

    await page.selectOption('#advice-metric', 'bytes');
    await same(advise(['--metric', 'bytes']));
    expect((await data()).diagnoses).toBe('elephant');
    expect(await text('#advice-diagnoses')).toContain('10.99.0.1:8080 -> 10.99.0.2:33470 tcp');
    await page.fill('#advice-moves', '1');
    await same(advise(['--metric', 'bytes', '--max-moves', '1']));
    await page.fill('#advice-moves', 'x');
    await poll(() => text('#advice-moves-error')).toContain('bad most entries to move "x"');
    await page.fill('#advice-moves', '');
    await page.selectOption('#advice-metric', 'packets');
    await same(packets);

    // Fix 1 applied: the settings take the weights, and the capture lands as run --reta weight:... says.
    await page.click('#advice-use-weights');
    await poll(() => page.inputValue('#reta-weights')).toBe(packets.weights.weights.join(' '));
    await poll(() => queueCounts()).toEqual(runQueues(file, ['--reta', `weight:${packets.weights.weights.join(',')}`]));
    await page.selectOption('#reta-mode', 'equal');
    await page.check('#source-random');
    await poll(() => page.isHidden('#advice')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('port pools: the ports per core are those of rssplane ports; a bad address is named beside its field', async () => {
    await tab('pools');
    await page.fill('#pool-cores', '6');
    await page.fill('#reta-queues', '6');
    const cli = JSON.parse(rssplane(['ports', '--src', '10.0.0.2', '--dst', '10.0.0.1', '--dport', '80', '--cores', '6', '--json']).stdout) as { cores: Array<{ count: number }> };
    const expected = cli.cores.map((c) => c.count);
    await poll(() => page.$$eval('td[id^="pool-count-"]', (tds) => tds.map((td) => Number(td.textContent!.replace(/,/g, ''))))).toEqual(expected);
    expect(expected.reduce((a, b) => a + b, 0)).toBe(64511);
    expect(await text('#pool-note')).toContain('rank 7');
    // The map: one pixel per port; port 80 is outside 1025-65535 and drawn grey.
    const pixel = await page.$eval('#pool-map', (c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(80, 0, 1, 1).data));
    expect(pixel).toEqual([226, 230, 235, 255]);
    await shot('pools');
    await page.fill('#pool-src', '10.0.0.256');
    await poll(() => text('#pool-src-error')).toBe('bad source address "10.0.0.256": part 4 must be a number from 0 to 255');
    await page.fill('#pool-src', '10.0.0.2');
    await page.fill('#reta-queues', '4');
    expect(problems).toEqual([]);
  });
});
