/**
 * A command that is done ends without Node's teardown (host/node/io.ts exitWhenWritten, the
 * memory addon's exitNow): after the 'exit' listeners, with the status they leave, and not when
 * Node was asked for something written at teardown.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { commandWorks, describeWithDependency } from './helpers/deps.js';

const ADDON = fileURLToPath(new URL('../dist/rssplane_memory.node', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const CAPTURE = fileURLToPath(new URL('./fixtures/captures/ipv4.pcap', import.meta.url));

describeWithDependency('gcc', commandWorks('cc', ['--version']), 'the quick exit', () => {
  it('exitNow ends the process with the status given, after the exit listeners registered before it', () => {
    const script = `
      const addon = require(${JSON.stringify(ADDON)});
      process.on('exit', (status) => require('node:fs').writeSync(1, 'listener saw ' + status + '\\n'));
      process.once('exit', (status) => addon.exitNow(status));
      process.on('exit', () => require('node:fs').writeSync(1, 'not reached\\n'));
      process.exitCode = 3;`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('listener saw 3\n');
    expect(r.status).toBe(3);
    const bad = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ADDON)}).exitNow('x')`], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/exitNow: expected an exit status/);
  });

  it('a run prints its whole summary and exits 0; under a Node flag it exits through Node, which writes the profile asked for', () => {
    const run = ['run', '--input', CAPTURE, '--cores', '1', '--json', '--no-progress'];
    const quick = spawnSync(process.execPath, [CLI, ...run], { encoding: 'utf8' });
    expect(quick.status).toBe(0);
    expect(JSON.parse(quick.stdout).packets).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-exit-'));
    try {
      // RSSPLANE_CODE_CACHE=off: a flag would make the code cache's flags differ, and the run rewrite it.
      const profiled = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, CLI, ...run], {
        encoding: 'utf8', env: { ...process.env, RSSPLANE_CODE_CACHE: 'off' },
      });
      expect(profiled.status).toBe(0);
      expect(JSON.parse(profiled.stdout).packets).toBe(JSON.parse(quick.stdout).packets);
      expect(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
