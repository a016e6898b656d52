/**
 * The RSS verification suite published with the Microsoft RSS specification (and the Intel
 * 82599 datasheet, and DPDK's test_thash.c): tuples and the hashes a correct Toeplitz gives under
 * the `microsoft` key. Published facts, used by the demo and the visualizer; the tests check
 * against their own copy of the tables.
 */
export interface VerificationVector {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** hash of the addresses only (ipv4 / ipv6 field set) */
  addresses: number;
  /** hash with the ports (ipv4-l4 / ipv6-l4) */
  withPorts: number;
}

export const IPV4_VECTORS: readonly VerificationVector[] = [
  { src: '66.9.149.187', sport: 2794, dst: '161.142.100.80', dport: 1766, addresses: 0x323e8fc2, withPorts: 0x51ccc178 },
  { src: '199.92.111.2', sport: 14230, dst: '65.69.140.83', dport: 4739, addresses: 0xd718262a, withPorts: 0xc626b0ea },
  { src: '24.19.198.95', sport: 12898, dst: '12.22.207.184', dport: 38024, addresses: 0xd2d0a5de, withPorts: 0x5c2b394a },
  { src: '38.27.205.30', sport: 48228, dst: '209.142.163.6', dport: 2217, addresses: 0x82989176, withPorts: 0xafc7327f },
  { src: '153.39.163.191', sport: 44251, dst: '202.188.127.2', dport: 1303, addresses: 0x5d1809c5, withPorts: 0x10e828a2 },
];

export const IPV6_VECTORS: readonly VerificationVector[] = [
  { src: '3ffe:2501:200:1fff::7', sport: 2794, dst: '3ffe:2501:200:3::1', dport: 1766, addresses: 0x2cc18cd5, withPorts: 0x40207d3d },
  { src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, dst: 'ff02::1', dport: 4739, addresses: 0x0f0c461c, withPorts: 0xdde51bbf },
  { src: '3ffe:1900:4545:3:200:f8ff:fe21:67cf', sport: 44251, dst: 'fe80::200:f8ff:fe21:67cf', dport: 38024, addresses: 0x4b61e985, withPorts: 0x02d1feef },
];
