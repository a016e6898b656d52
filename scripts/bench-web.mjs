// The visualizer's speed, in headless Chromium: random flows distributed over queues, as the page
// times each step (crypto fill, one WASM hash call, WASM queue count). Prints one JSON object of
// medians over the rounds. Needs a build (npm run build) and Debian's chromium.
//
//   node scripts/bench-web.mjs [--rounds 11] [--flows 1000000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('rounds', 11);
const flows = arg('flows', 1_000_000);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const server = spawn(process.execPath, ['dist/cli.js', 'visualize', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => {
    const m = /http:\/\/\S+\//.exec(String(d));
    if (m) resolve(m[0]);
  });
  server.once('exit', (code) => reject(new Error(`rssplane visualize exited with ${code}`)));
});
const profile = mkdtempSync(join(tmpdir(), 'rssplane-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.click('#tab-distribution');
  await page.fill('#flow-count', String(flows));

  /** Does `act`, waits for the page's next figures, returns them. */
  const measure = async (act) => {
    const before = await page.$eval('#distribution-timing', (e) => e.textContent);
    await act();
    await page.waitForFunction((b) => document.getElementById('distribution-timing').textContent !== b, before);
    return page.$eval('#distribution-timing', (e) => Object.fromEntries(Object.entries(e.dataset).map(([k, v]) => [k, Number(v)])));
  };
  await measure(() => page.click('#regenerate')); // warm up: V8 tiers up the engine's code
  const fresh = [], rehash = [], recount = [];
  for (let r = 0; r < rounds; r++) {
    // Interleaved: new tuples, then another key on them, then another table on those hashes.
    fresh.push(await measure(() => page.click('#regenerate')));
    rehash.push(await measure(() => page.selectOption('#key-preset', r % 2 ? 'microsoft' : 'symmetric')));
    recount.push(await measure(() => page.fill('#reta-queues', r % 2 ? '4' : '8')));
  }
  const m = (rows, k) => Number(median(rows.map((x) => x[k])).toFixed(2));
  const kernel = (await page.textContent('#engine-status')).replace(/^.*: (\S+) kernel$/, '$1');
  console.log(JSON.stringify({
    flows, rounds, kernel,
    fill_ms: m(fresh, 'fillMs'), hash_ms: m(fresh, 'hashMs'), count_ms: m(fresh, 'countMs'), total_ms: m(fresh, 'totalMs'),
    mhash_per_s: Number((flows / m(fresh, 'hashMs') / 1000).toFixed(1)),
    new_key_ms: m(rehash, 'totalMs'), new_table_ms: m(recount, 'totalMs'),
    browser: context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)).replace(/^.*(Chrome\/\S+).*$/, '$1'),
    cpu: cpus()[0]?.model.trim(), date: new Date().toISOString(),
  }));
} finally {
  await context.close();
  server.kill('SIGINT');
  rmSync(profile, { recursive: true, force: true });
}
