/** Runs `rssplane visualize` in the background, as a user would, and reads the address it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export interface Visualizer {
  url: string;
  child: ChildProcess;
  /** Ctrl-C, and the exit status once it has gone. */
  stop(): Promise<number | null>;
}

export function startVisualizer(args: string[] = ['--port', '0']): Promise<Visualizer> {
  const child = spawn(process.execPath, [CLI, 'visualize', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve({ url: m[0], child, stop: () => (child.kill('SIGINT'), exited) });
    });
    child.once('exit', (code) => reject(new Error(`rssplane visualize exited (${code}) before printing its address: ${out}${err}`)));
  });
}
