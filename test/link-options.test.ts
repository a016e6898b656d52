/**
 * The link options (host/node/link/options.ts) that connect and serve take, through the link
 * harness: each mistake is one line on stderr naming the value, exit 2, nothing on stdout, and it
 * is caught before EAL starts (so these need no DPDK and no root).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLinkFlags } from '../host/node/link/options.js';
import { expectUsageError } from './helpers/cli.js';

const HARNESS = fileURLToPath(new URL('../dist/link-harness.js', import.meta.url));
const harness = (args: string[]) => {
  const r = spawnSync(process.execPath, [HARNESS, '--eal', '--no-huge -m 64 --no-pci --vdev net_null0', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('link options: one line, exit 2, before EAL', () => {
  const cases: Array<[string[], string, RegExp]> = [
    [[], '--ip', /give --ip ADDR\/LEN or --ip6 ADDR\/LEN/],
    [['--ip', '198.18.0.2'], '--ip', /expected ADDR\/LEN, as 198\.18\.0\.2\/24/],
    [['--ip', '198.18.0.2/33'], '--ip', /prefix length is a number from 0 to 32/],
    [['--ip', '198.18.0.300/24'], '--ip', /part 4 must be a number from 0 to 255/],
    [['--ip', '224.0.0.5/24'], '--ip', /not a unicast address/],
    [['--ip', '198.18.0.0/24'], '--ip', /network address/],
    [['--ip', '198.18.0.255/24'], '--ip', /broadcast address/],
    [['--ip6', '2001:db8::2'], '--ip6', /expected ADDR\/LEN, as 2001:db8::2\/64/],
    [['--ip6', '2001:db8::2/129'], '--ip6', /from 0 to 128/],
    [['--ip6', 'ff02::1/64'], '--ip6', /multicast/],
    [['--ip6', 'fe80::2/64'], '--ip6', /link-local one is made from the MAC/],
    [['--ip6', '2001:db8:::2/64'], '--ip6', /is not a group of 1 to 4 hex digits/],
    [['--ip', '198.18.0.2/24', '--gateway', '198.51.100.1'], '--gateway', /not on the link of --ip 198\.18\.0\.2\/24/],
    [['--ip', '198.18.0.2/24', '--gateway', '2001:db8::1'], '--gateway', /an IPv6 gateway needs --ip6/],
    [['--ip', '198.18.0.2/24', '--gateway', '198.18.0.1', '--gateway', '198.18.0.3'], '--gateway', /one gateway per family/],
    [['--ip', '198.18.0.2/24', '--gateway', '198.18.0.2'], '--gateway', /our own address/],
    [['--ip', '198.18.0.2/24', '--gateway', 'router'], '--gateway', /not an IPv4 or IPv6 address/],
    [['--ip', '198.18.0.2/24', '--mac', '02:00:00:00:00'], '--mac', /six hex pairs/],
    [['--ip', '198.18.0.2/24', '--mac', '01:00:5e:00:00:01'], '--mac', /multicast/],
    [['--ip', '198.18.0.2/24', '--mac', '00:00:00:00:00:00'], '--mac', /zero MAC/],
    [['--ip', '198.18.0.2/24', '--cores', '0'], '--cores', /whole number >= 1/],
    [['--ip', '198.18.0.2/24', '--neighbours', '100'], '--neighbours', /power of two/],
    [['--ip', '198.18.0.2/24', '--resolve', '198.18.0'], '--resolve', /four dot-separated numbers/],
  ];
  for (const [args, names, why] of cases) {
    it(`${args.join(' ') || '(no address)'}`, () => {
      const r = harness(args);
      expectUsageError(r, names);
      expect(r.stderr).toMatch(why);
    });
  }

  it('what the options give the link layer', () => {
    const s = parseLinkFlags({
      port: '0', dpdkIdle: 'auto', ip: '198.18.0.2/24', ip6: '2001:db8::2/64', gateway: ['198.18.0.1', 'fe80::1'], mac: '02:00:00:00:00:02',
    });
    expect(Array.from(s.addresses.ipv4!.address)).toEqual([198, 18, 0, 2]);
    expect(s.addresses.ipv4!.prefix).toBe(24);
    expect(s.addresses.ipv6!.prefix).toBe(64);
    expect(Array.from(s.addresses.gateway4!)).toEqual([198, 18, 0, 1]);
    expect(Array.from(s.addresses.gateway6!.subarray(0, 2))).toEqual([0xfe, 0x80]); // a link-local router is on every link
    expect(Array.from(s.mac!)).toEqual([2, 0, 0, 0, 0, 2]);
  });
});
