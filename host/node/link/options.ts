/**
 * The link options of the endpoint commands (connect, serve): the DPDK options `run --input dpdk`
 * has (the same definitions, host/node/options.ts) and our side of the link: --ip, --ip6,
 * --gateway, --mac. Each is checked here, so a mistake is one line naming the value (exit 2)
 * before EAL starts.
 */
import type { Command } from 'commander';
import { parseAddress, parseIPv4, parseIPv6 } from '../../core/addr.js';
import { invalid } from '../../core/errors.js';
import { parseMac, type LinkAddresses } from '../../core/link.js';
import { dpdkOptions, type DpdkFlags } from '../options.js';

export interface LinkFlags extends DpdkFlags {
  ip?: string;
  ip6?: string;
  gateway: string[];
  mac?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds the DPDK options and --ip, --ip6, --gateway (repeatable: one per family), --mac. */
export function linkOptions(cmd: Command): Command {
  return dpdkOptions(cmd)
    .option('--ip <addr/len>', 'our IPv4 address on the link and its prefix length, e.g. 198.18.0.2/24')
    .option('--ip6 <addr/len>', 'our IPv6 address and prefix length, e.g. 2001:db8::2/64 (static: no duplicate address detection)')
    .option('--gateway <addr>', 'next hop for destinations off the link; IPv4 or IPv6 (give it twice for both)', collect, [])
    .option('--mac <mac>', 'our MAC, e.g. 02:00:00:00:00:02 (default: the port\'s)');
}

/** Our side of the link, as the options give it (the MAC only with --mac: else the port's). */
export interface LinkSettings {
  addresses: Omit<LinkAddresses, 'mac'>;
  mac?: Uint8Array;
  /** --ip and --ip6 as given, for messages ("the link of 198.18.0.2/24") */
  ipText?: string;
  ip6Text?: string;
}

/** Parses ADDR/LEN for `option` (--ip, --ip6). */
function prefixed(text: string, option: '--ip' | '--ip6'): { address: Uint8Array; prefix: number } {
  const v4 = option === '--ip';
  const example = v4 ? '198.18.0.2/24' : '2001:db8::2/64';
  const slash = text.lastIndexOf('/');
  if (slash < 0) invalid(option, text, `expected ADDR/LEN, as ${example}`);
  const lengthText = text.slice(slash + 1);
  const bits = v4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > bits) invalid(option, text, `the prefix length is a number from 0 to ${bits}`);
  const address = v4 ? parseIPv4(text.slice(0, slash), option) : parseIPv6(text.slice(0, slash), option);
  return { address, prefix: Number(lengthText) };
}

/** The host part of `a` under `prefix` bits: all zeros, all ones, or neither. */
function hostPart(a: Uint8Array, prefix: number): 'zeros' | 'ones' | 'mixed' {
  let zeros = true, ones = true;
  for (let bit = prefix; bit < a.length * 8; bit++) {
    const set = (a[bit >> 3]! >> (7 - (bit & 7))) & 1;
    if (set) zeros = false;
    else ones = false;
  }
  return zeros ? 'zeros' : ones ? 'ones' : 'mixed';
}

function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    if (((a[bit >> 3]! ^ b[bit >> 3]!) >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks and parses the link flags. At least one of --ip and --ip6 is needed: the link layer
 * answers for an address. Throws EINVAL naming the option and its value.
 */
export function parseLinkFlags(flags: LinkFlags): LinkSettings {
  const settings: LinkSettings = { addresses: {} };
  if (flags.ip === undefined && flags.ip6 === undefined) {
    invalid('--ip', '', 'give --ip ADDR/LEN or --ip6 ADDR/LEN: the link layer needs an address to answer for');
  }
  if (flags.ip !== undefined) {
    const v4 = prefixed(flags.ip, '--ip');
    const first = v4.address[0]!;
    if (first === 0 || first === 127 || first >= 224) invalid('--ip', flags.ip, 'not a unicast address');
    if (v4.prefix <= 30) {
      const host = hostPart(v4.address, v4.prefix);
      if (host === 'zeros') invalid('--ip', flags.ip, 'that is the network address of the prefix, not a host on it');
      if (host === 'ones') invalid('--ip', flags.ip, 'that is the broadcast address of the prefix, not a host on it');
    }
    settings.addresses.ipv4 = v4;
    settings.ipText = flags.ip;
  }
  if (flags.ip6 !== undefined) {
    const v6 = prefixed(flags.ip6, '--ip6');
    const a = v6.address;
    if (a[0] === 0xff) invalid('--ip6', flags.ip6, 'a multicast address cannot be ours');
    if (a.every((x, i) => x === (i === 15 ? 1 : 0)) || a.every((x) => x === 0)) invalid('--ip6', flags.ip6, 'not a unicast address');
    if (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80) invalid('--ip6', flags.ip6, 'give a global address: the link-local one is made from the MAC');
    settings.addresses.ipv6 = v6;
    settings.ip6Text = flags.ip6;
  }
  for (const text of flags.gateway) {
    const g = parseAddress(text, '--gateway');
    const ours = g.family === 4 ? settings.addresses.ipv4 : settings.addresses.ipv6;
    const option = g.family === 4 ? '--ip' : '--ip6';
    if (!ours) invalid('--gateway', text, `an IPv${g.family} gateway needs ${option} (our address on its link)`);
    if ((g.family === 4 ? settings.addresses.gateway4 : settings.addresses.gateway6) !== undefined) {
      invalid('--gateway', text, `one gateway per family: IPv${g.family} was given twice`);
    }
    if (sameBytes(g.bytes, ours.address)) invalid('--gateway', text, 'that is our own address');
    const linkLocal = g.family === 6 && g.bytes[0] === 0xfe && (g.bytes[1]! & 0xc0) === 0x80;
    if (!linkLocal && !samePrefix(g.bytes, ours.address, ours.prefix)) {
      invalid('--gateway', text, `not on the link of ${option} ${g.family === 4 ? settings.ipText : settings.ip6Text}`);
    }
    if (g.family === 4) settings.addresses.gateway4 = g.bytes;
    else settings.addresses.gateway6 = g.bytes;
  }
  if (flags.mac !== undefined) {
    const mac = parseMac(flags.mac);
    if (mac[0]! & 1) invalid('--mac', flags.mac, 'a multicast (group) MAC cannot be a station\'s');
    if (mac.every((x) => x === 0)) invalid('--mac', flags.mac, 'the zero MAC is not a station\'s');
    settings.mac = mac;
  }
  return settings;
}
