/**
 * Process plumbing for the CLI: reading inputs, writing results, and turning a user's mistake
 * into one line on stderr and exit status 2 (never a stack trace, never partial stdout).
 */
import { readFileSync } from 'node:fs';
import { RssplaneError } from '../core/errors.js';

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

/** Writes `text` and a newline to stdout in one call. */
export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value));
}

/**
 * Ends the process once stdout and stderr hold nothing unwritten (on Linux they write files and
 * pipes synchronously; elsewhere a pipe may still be draining). For a command whose work is
 * done: left to itself, Node would first wait for background work it no longer needs (V8's
 * optimising compiler still tiering the engine up) and tear down at leisure, some tens of
 * milliseconds that a run of a small capture would otherwise spend doing nothing.
 */
export async function exitWhenWritten(): Promise<never> {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength > 0) await new Promise((resolve) => stream.once('drain', resolve));
  }
  process.exit();
}

/** Prints a user-facing error and exits 2; anything else is a bug and keeps its stack. */
export function failAndExit(e: unknown): never {
  if (e instanceof RssplaneError || e instanceof UsageError) {
    process.stderr.write(`rssplane: ${e.message}\n`);
    process.exit(USAGE);
  }
  throw e;
}

/** True when stdout is a terminal (progress bars and colour only then). */
export const interactive = () => Boolean(process.stdout.isTTY);

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
