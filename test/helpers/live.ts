/** A live `rssplane run` in the background: its output, its --json-stats lines, its end. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { CLI } from './cli.js';

export class LiveRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Polls `check` every 100 ms until it gives a value; fails after `ms`, or if the run ended first. */
  async until<T>(what: string, check: () => T | undefined, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (this.child.exitCode !== null) throw new Error(`the run ended (status ${this.child.exitCode}) before ${what}\nstderr: ${this.stderr}`);
      if (Date.now() > end) throw new Error(`no ${what} after ${ms} ms\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The URL the run serves its metrics at (it prints it on stderr). */
  metricsUrl(): Promise<string> {
    return this.until('metrics URL', () => /metrics at (http:\/\/\S+)/.exec(this.stderr)?.[1]);
  }

  /** The --json-stats file's whole lines, parsed, once it has at least `n` (that `ready` accepts, if given). */
  statsLines(path: string, n = 1, ready: (line: any) => boolean = () => true): Promise<any[]> {
    return this.until(`${n} line(s) in ${path}`, () => {
      const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l)) : [];
      return lines.filter(ready).length >= n ? lines : undefined;
    });
  }

  /** Its exit status (null: killed by a signal). */
  end(): Promise<number | null> {
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Reads every JSON line of a file. */
export function jsonLines(path: string): any[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}
