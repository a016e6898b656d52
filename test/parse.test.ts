/** Keys, addresses, ports and field sets as users type them. */
import { describe, expect, it } from 'vitest';
import { encodeTuple, formatAddress, formatEndpointAt, formatKey, KEY_PRESETS, parseAddress, parseKey, parsePort, RssplaneError } from '../host/core/index.js';

describe('keys', () => {
  it('presets, plain hex, colon hex (as ethtool prints), 0x prefix', () => {
    expect(parseKey('microsoft')).toEqual(KEY_PRESETS.microsoft);
    expect(formatKey(parseKey('symmetric'))).toBe('6d5a'.repeat(20));
    expect(formatKey(parseKey('mtcp'))).toBe('05'.repeat(40));
    const hex = formatKey(KEY_PRESETS.microsoft);
    expect(parseKey(hex)).toEqual(KEY_PRESETS.microsoft);
    expect(parseKey(formatKey(KEY_PRESETS.microsoft, 'colon'))).toEqual(KEY_PRESETS.microsoft);
    expect(parseKey(`0x${hex.toUpperCase()}`)).toEqual(KEY_PRESETS.microsoft);
  });

  it.each([
    ['6d5g', '"g" is not a hex digit'],
    ['6d5', 'odd number of hex digits'],
    ['6d:5a:5', 'byte 3 ("5") is not two hex digits'],
    ['', 'expected microsoft, symmetric, mtcp or hex bytes'],
    ['ab'.repeat(129), '129 bytes; at most 128'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseKey(text)).toThrow(message);
    try {
      parseKey(text);
    } catch (e) {
      expect(e).toBeInstanceOf(RssplaneError);
      expect((e as RssplaneError).code).toBe('EINVAL');
    }
  });
});

describe('addresses and ports', () => {
  it('IPv4 and IPv6 (all RFC 4291 text forms), printed in RFC 5952 form', () => {
    expect(Array.from(parseAddress('10.0.0.1').bytes)).toEqual([10, 0, 0, 1]);
    expect(formatAddress(parseAddress('2001:DB8:0:0:0:0:0:1').bytes)).toBe('2001:db8::1');
    expect(formatAddress(parseAddress('::').bytes)).toBe('::');
    expect(formatAddress(parseAddress('::ffff:192.0.2.1').bytes)).toBe('::ffff:c000:201');
    expect(formatAddress(parseAddress('[fe80::1]').bytes)).toBe('fe80::1');
    expect(formatAddress(parseAddress('2001:db8:0:1:0:0:0:1').bytes)).toBe('2001:db8:0:1::1');
    expect(formatAddress(parseAddress('2001:0:0:1:0:0:0:1').bytes)).toBe('2001:0:0:1::1');
    expect(formatAddress(parseAddress('1:0:2:3:4:5:6:7').bytes)).toBe('1:0:2:3:4:5:6:7');
  });

  it('endpoints formatted from address bytes in place (as flow records are)', () => {
    const bytes = new Uint8Array(40).fill(0xee);
    bytes.set([192, 0, 2, 10], 3);
    bytes.set(parseAddress('2001:db8::7').bytes, 20);
    expect(formatEndpointAt(bytes, 3, 4, 443)).toBe('192.0.2.10:443');
    expect(formatEndpointAt(bytes, 20, 6, 8080)).toBe('[2001:db8::7]:8080');
  });

  it.each([
    '10.0.0', '10.0.0.256', '10.0.0.01', '1.2.3.4.5', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::g', 'localhost', '1:2:3:4:5:6:7',
  ])('refuses %j', (text) => {
    expect(() => parseAddress(text)).toThrow(RssplaneError);
  });

  it('ports 0-65535 only', () => {
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['65536', '-1', '1.5', 'http', '']) expect(() => parsePort(bad)).toThrow('from 0 to 65535');
  });

  it('tuples: network byte order, family must match the field set, ports required by -l4', () => {
    expect(Array.from(encodeTuple('ipv4-l4', { src: '1.2.3.4', dst: '5.6.7.8', sport: 0x1234, dport: 80 }))).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 0x12, 0x34, 0, 80]);
    expect(() => encodeTuple('ipv4', { src: '::1', dst: '::2' })).toThrow('field set ipv4 takes IPv4 addresses');
    expect(() => encodeTuple('ipv6-l4', { src: '::1', dst: '::2' })).toThrow('needs a source and a destination port');
  });
});
