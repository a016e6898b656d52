/**
 * System dependencies of tests (C compiler, libdpdk-dev, tshark, ...). A test that needs one runs
 * when it is present and fails when it is missing under CI=true (CI installs them); only a
 * developer's machine without it skips, and says which package to install.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

export const inCI = process.env.CI === 'true';

export function commandWorks(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` that runs when `present` or under CI (where a missing dependency must fail loudly),
 * and otherwise skips with the package to install in its title.
 */
export function describeWithDependency(pkg: string, present: boolean, title: string, body: () => void): void {
  if (present || inCI) describe(title, body);
  else describe.skip(`${title} (needs ${pkg})`, body);
}

export const haveDpdk = () => commandWorks('pkg-config', ['--exists', 'libdpdk']) && commandWorks('cc', ['--version']);

export const haveTshark = () => commandWorks('tshark', ['--version']);

export const haveLibpcap = () => commandWorks('cc', ['--version']) && commandWorks('sh', ['-c', 'test -f /usr/include/pcap/pcap.h']);

/** Debian's prometheus package: promtool and the server. */
export const havePrometheus = () => commandWorks('promtool', ['--version']) && commandWorks('prometheus', ['--version']);
