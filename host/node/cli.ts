/**
 * The rssplane command.
 */
import { Command, CommanderError, Help } from 'commander';
import { failAndExit, reflow, USAGE, writeAll } from './io.js';
import './huge-pages.js';
import './relaxed-simd.js';
import './wasm-cache.js';

// Started by dist/cli.js (host/node/launch.cjs), which loads this bundle with V8's code cache.
// Relaxed SIMD (behind a flag in Node 20) is turned on around each engine compile: ./relaxed-simd.ts.

const VERSION = '0.1.0';

/**
 * The commands, each loaded when it runs: a command's modules (and the Node built-ins they use:
 * http for visualize, child_process for bench...) cost start-up time that `run` should not pay.
 * In the order `--help` lists them.
 */
const COMMANDS: Record<string, () => Promise<() => Command>> = {
  hash: async () => (await import('./commands/hash.js')).hashCommand,
  key: async () => (await import('./commands/key.js')).keyCommand,
  reta: async () => (await import('./commands/reta.js')).retaCommand,
  ports: async () => (await import('./commands/ports.js')).portsCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  advise: async () => (await import('./commands/advise.js')).adviseCommand,
  connect: async () => (await import('./commands/connect.js')).connectCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  visualize: async () => (await import('./commands/visualize.js')).visualizeCommand,
  dpdk: async () => (await import('./commands/dpdk.js')).dpdkCommand,
};

const wrapHelp = Help.prototype.boxWrap;

/**
 * Errors as one line (`rssplane: unknown option '--x' (did you mean --y?)`), thrown rather than
 * exited; help text reflowed (reflow) before commander wraps it.
 */
function oneLineErrors(cmd: Command): void {
  cmd.exitOverride().configureOutput({
    // Help and the version to file descriptor 1, as everything else (io.ts out).
    writeOut: (text) => writeAll(1, text),
    outputError: (text, write) => write(`rssplane: ${text.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)/, ' (did you mean $1)').trimEnd()}\n`),
  });
  cmd.configureHelp({ boxWrap(this: Help, str: string, width: number) { return wrapHelp.call(this, reflow(str), width); } });
  cmd.commands.forEach(oneLineErrors);
}
async function main(): Promise<void> {
  const program = new Command('rssplane')
    .description('RSS-aware packet data plane: Toeplitz hashing, RSS-aligned port pools, per-core TCP flows, in WebAssembly SIMD.')
    .version(VERSION);
  // The command named on the command line, or all of them (for --help, or to suggest a name);
  // none for --version, which needs no command's code.
  const named = process.argv[2];
  const version = process.argv.length === 3 && (named === '--version' || named === '-V');
  const wanted = version ? [] : named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const make of await Promise.all(wanted.map((n) => COMMANDS[n]!()))) program.addCommand(make());
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
}

void main();
