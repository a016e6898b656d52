#!/usr/bin/env node
/**
 * The rssplane command.
 */
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { adviseCommand } from './commands/advise.js';
import { benchCommand } from './commands/bench.js';
import { connectCommand } from './commands/connect.js';
import { demoCommand } from './commands/demo.js';
import { dpdkCommand } from './commands/dpdk.js';
import { hashCommand } from './commands/hash.js';
import { keyCommand } from './commands/key.js';
import { portsCommand } from './commands/ports.js';
import { retaCommand } from './commands/reta.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { visualizeCommand } from './commands/visualize.js';
import { failAndExit, USAGE } from './io.js';

// Node 20 keeps relaxed SIMD behind a flag that browsers no longer need; turning it on before any
// module is compiled lets the engine pick the relaxed kernel. RSSPLANE_KERNEL=simd keeps baseline.
if (process.env.RSSPLANE_KERNEL !== 'simd') setFlagsFromString('--experimental-wasm-relaxed-simd');

// `rssplane ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const VERSION = '0.1.0';

const program = new Command('rssplane')
  .description('RSS-aware packet data plane: Toeplitz hashing, RSS-aligned port pools, per-core TCP flows, in WebAssembly SIMD.')
  .version(VERSION);
for (const make of [hashCommand, keyCommand, retaCommand, portsCommand, runCommand, adviseCommand, connectCommand, serveCommand, benchCommand, demoCommand, visualizeCommand, dpdkCommand]) program.addCommand(make());

/** Errors as one line (`rssplane: unknown option '--x' (did you mean --y?)`), thrown rather than exited. */
function oneLineErrors(cmd: Command): void {
  cmd.exitOverride().configureOutput({
    outputError: (text, write) => write(`rssplane: ${text.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)/, ' (did you mean $1)').trimEnd()}\n`),
  });
  cmd.commands.forEach(oneLineErrors);
}
oneLineErrors(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is bad usage.
    process.exit(e.exitCode === 0 ? 0 : USAGE);
  }
  failAndExit(e);
}
