/**
 * `run`'s IPFIX options: where to export (--ipfix, repeatable), the observation domain, the active
 * timeout and the UDP template refresh, each checked at its limits.
 */
import type { Command } from 'commander';
import { invalid } from '../../core/errors.js';
import { ACTIVE_TIMEOUT_MAX, IPFIX_PORT } from '../../core/ipfix.js';
// The targets (and the sockets' modules under them) load only for a run that exports.
import type { IpfixExport, TargetSpec } from './ipfix-targets.js';

export interface IpfixFlags {
  ipfix?: string[];
  ipfixDomain: string;
  ipfixActiveTimeout: string;
  ipfixTemplateRefresh: string;
}

export interface IpfixSettings {
  targets: TargetSpec[];
  domain: number;
  activeTimeout: number;
  templateRefresh: number;
}

/** Longest template refresh: what a Node timer holds (2^31 - 1 ms). */
const REFRESH_MAX = Math.floor(0x7fffffff / 1000);
const DOMAIN_MAX = 0xffffffff;

export function ipfixOptions(cmd: Command): Command {
  return cmd
    .option('--ipfix <target>', `export flows as IPFIX (RFC 7011, biflows RFC 5103) to a FILE, udp://HOST[:PORT] or tcp://HOST[:PORT] (port ${IPFIX_PORT} by default); repeat for several`,
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--ipfix-domain <n>', `IPFIX observation domain ID of this run (0 to ${DOMAIN_MAX})`, '1')
    .option('--ipfix-active-timeout <seconds>', `a flow active this long is exported with its counts so far (delta counts), and again each time after; 0: only when it ends (at most ${ACTIVE_TIMEOUT_MAX})`, '1800')
    .option('--ipfix-template-refresh <seconds>', `UDP: templates are sent again this often (1 to ${REFRESH_MAX})`, '60');
}

function seconds(text: string, name: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(text) || !(v >= min)) invalid(name, text, `expected seconds from ${min} to ${max}`);
  if (v > max) invalid(name, text, `at most ${max} seconds`);
  return v;
}

/** The settings from the flags (undefined without --ipfix; the other options need it). */
export async function ipfixSettings(flags: IpfixFlags, explicit: (name: string) => boolean): Promise<IpfixSettings | undefined> {
  if (!flags.ipfix?.length) {
    const alone: Array<[keyof IpfixFlags, string]> = [['ipfixDomain', '--ipfix-domain'], ['ipfixActiveTimeout', '--ipfix-active-timeout'], ['ipfixTemplateRefresh', '--ipfix-template-refresh']];
    for (const [o, name] of alone) if (explicit(o)) invalid(name, String(flags[o]), 'only with --ipfix');
    return undefined;
  }
  const { parseTarget } = await import('./ipfix-targets.js');
  const targets = flags.ipfix.map(parseTarget);
  const files = targets.filter((t) => t.kind === 'file').map((t) => t.where);
  const twice = files.find((f, i) => files.indexOf(f) !== i);
  if (twice !== undefined) invalid('--ipfix', twice, 'the same file twice');
  if (!/^\s*[0-9]+\s*$/.test(flags.ipfixDomain)) invalid('--ipfix-domain', flags.ipfixDomain, `expected a whole number from 0 to ${DOMAIN_MAX}`);
  const domain = Number(flags.ipfixDomain);
  if (domain > DOMAIN_MAX) invalid('--ipfix-domain', flags.ipfixDomain, `at most ${DOMAIN_MAX}`);
  return {
    targets, domain,
    activeTimeout: seconds(flags.ipfixActiveTimeout, '--ipfix-active-timeout', 0, ACTIVE_TIMEOUT_MAX),
    templateRefresh: seconds(flags.ipfixTemplateRefresh, '--ipfix-template-refresh', 1, REFRESH_MAX),
  };
}

/** Opens every target (files are created, sockets made and templates sent). */
export async function startIpfix(s: IpfixSettings): Promise<IpfixExport> {
  const { IpfixExport } = await import('./ipfix-targets.js');
  return IpfixExport.open(s.targets, { domain: s.domain, templateRefresh: s.templateRefresh });
}
