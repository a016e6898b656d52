/** Runs the built CLI (dist/cli.js) as a user would. `npm test` builds first. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function rssplane(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user mistake: exit 2, one line on stderr naming `names`, nothing on stdout, no stack trace. */
export function expectUsageError(r: CliResult, names: string): void {
  const problems: string[] = [];
  if (r.status !== 2) problems.push(`status ${r.status}`);
  if (r.stdout !== '') problems.push(`stdout ${JSON.stringify(r.stdout.slice(0, 80))}`);
  const lines = r.stderr.trimEnd().split('\n');
  if (lines.length !== 1 && !(lines.length === 2 && lines[1]!.startsWith('(rssplane COMMAND --help'))) problems.push(`stderr has ${lines.length} lines`);
  if (!r.stderr.includes(names)) problems.push(`stderr does not name ${JSON.stringify(names)}`);
  if (/\n\s+at /.test(r.stderr)) problems.push('stack trace');
  if (problems.length) throw new Error(`${problems.join('; ')}\nstderr: ${r.stderr}`);
}
