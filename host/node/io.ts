/**
 * Process plumbing for the CLI: reading inputs, writing results, and turning a user's mistake
 * into one line on stderr and exit status 2 (never a stack trace, never partial stdout).
 */
import { fstatSync, readFileSync, writeSync } from 'node:fs';
import { RssplaneError } from '../core/errors.js';
import { memoryAddon } from './memory-addon.js';

/** Exit status for bad usage or bad input. */
export const USAGE = 2;

export class UsageError extends Error {}

/** Reads FILE, or standard input for `-`. Missing or unreadable files are a user's mistake. */
export function readInput(path: string, what = 'input'): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new RssplaneError('ENOENT', `cannot read ${what} "${path}": ${reason}`, what);
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds (waiting out a pipe, or V8's background compiles). */
export function sleepSync(ms: number): void {
  Atomics.wait(PAUSE, 0, 0, ms);
}

/**
 * Writes all of `data` to file descriptor `fd`, synchronously. One writeSync writes what the
 * descriptor takes at once: on a pipe Node has made non-blocking (standard output, once
 * process.stdout exists, or a parent made it so), that is what the pipe has room for, and a full
 * pipe answers EAGAIN; a slow reader of `run --flows-out -` used to get 155 of 5,000 records,
 * the rest dropped without a word. Waits a millisecond at a time while the reader catches up. A
 * reader of standard output that has gone (EPIPE: `rssplane ... | head`) has chosen to stop,
 * which is not an error: the command ends with status 0.
 */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' && fd === 1) process.exit(0);
      if (code !== 'EAGAIN') throw e;
      sleepSync(1);
    }
  }
}

/**
 * True when standard error is a terminal (progress bars and live lines only then). Asking
 * process.stderr makes Node's stream for it, 3 to 6 ms for a file or a pipe (as a benchmark's
 * or a script's stderr is), to learn that it is not one: a descriptor that is not a character
 * device is not a terminal, and fstat says so in a fraction of that.
 */
export function stderrIsTerminal(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return Boolean(process.stderr.isTTY);
}

/**
 * Writes `text` and a newline to stdout in one call. Straight to file descriptor 1: Node's
 * process.stdout stream costs 3 to 5 ms to make (its pipe or file code), a fortieth of a short
 * run, and writes synchronously on Linux anyway. Nothing here writes through that stream (cli.ts
 * sends commander's help to writeAll too), so the two cannot come out of order.
 */
export function out(text = ''): void {
  writeAll(1, `${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value));
}

/**
 * Ends the process once stdout and stderr hold nothing unwritten. For a command whose work is
 * done: left to itself, Node would first wait for its event loop's handles and tear down at
 * leisure.
 *
 * On Linux stdout and stderr write files, pipes and terminals synchronously, so nothing can be
 * pending there, and stderr is not asked: Node makes the stream when it is first asked for, which
 * for a pipe means loading its socket code for nothing. Elsewhere a pipe may still be draining.
 *
 * `quick`: process.exit() runs the 'exit' listeners (the launcher's code cache among them), then
 * joins V8's background threads before the process ends; a short run usually ends while one of
 * them is still compiling the engine's hot function with the optimising tier, and waited for it
 * (20 to 40 ms of a 0.2 s run here). The last listener then ends the process with the memory
 * addon's _exit instead. Not for a command that holds what the C side must close (a DPDK port),
 * nor when Node was asked for something written at teardown (a profile, coverage: any Node flag).
 */
export async function exitWhenWritten(options: { quick?: boolean } = {}): Promise<never> {
  // Standard output is written straight to its descriptor (out), never through the stream.
  const streams = process.platform === 'linux' ? [] : [process.stderr];
  for (const stream of streams) {
    if (stream.writableLength > 0) await new Promise((resolve) => stream.once('drain', resolve));
  }
  const addon = options.quick && nodeWithoutFlags() ? memoryAddon() : null;
  if (addon) process.once('exit', (status) => addon.exitNow(status));
  process.exit();
}

/**
 * True when Node runs with no flags of its own (none on its command line, nor in NODE_OPTIONS,
 * and no coverage asked for): nothing is to be written at its teardown (the quick exit), and V8
 * compiles under the flags the usual runs have (what a run leaves in the wasm cache).
 */
export function nodeWithoutFlags(): boolean {
  return process.execArgv.length === 0 && !process.env.NODE_OPTIONS && !process.env.NODE_V8_COVERAGE;
}

/** Prints a user-facing error and exits 2; anything else is a bug and keeps its stack. */
export function failAndExit(e: unknown): never {
  if (e instanceof RssplaneError || e instanceof UsageError) {
    process.stderr.write(`rssplane: ${e.message}\n`);
    process.exit(USAGE);
  }
  throw e;
}

/**
 * A help text's prose as paragraphs: the descriptions are written with line breaks where they
 * read well in the source, and commander wraps each line again to the terminal's width (80
 * columns when piped), which left a short line after every long one. Lines of one paragraph are
 * joined before wrapping; blank lines, indented lines (examples, continued list items), list
 * items and lines after one ending in ':' keep their breaks.
 */
export function reflow(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const previous = out.length ? out[out.length - 1]! : '';
    const joins = line !== '' && previous !== '' && !/^\s|^[-*] |^\d+\. /.test(line) && !/:$/.test(previous) && !/^\s/.test(previous);
    if (joins) out[out.length - 1] = `${previous} ${line}`;
    else out.push(line);
  }
  return out.join('\n');
}
