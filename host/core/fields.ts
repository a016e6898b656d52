/**
 * Field sets, hash functions and input transforms by name, and tuples encoded as hash input.
 * The numbers behind the names are in assembly/shared/abi.ts, shared with the engine.
 */
import {
  FieldSet, HashFunction, InputTransform, IPV4_INPUT, IPV4_L4_INPUT, IPV6_INPUT, IPV6_L4_INPUT,
} from '../../assembly/shared/abi.js';
import { parseAddress, parsePort, type Family } from './addr.js';
import { invalid } from './errors.js';

export type FieldSetName = 'ipv4' | 'ipv4-l4' | 'ipv6' | 'ipv6-l4';
export type HashFunctionName = 'toeplitz' | 'xor';
export type TransformName = 'none' | 'symmetric-xor' | 'symmetric-or-xor';

export interface FieldSetInfo {
  id: FieldSet;
  family: Family;
  /** source and destination ports follow the addresses */
  ports: boolean;
  /** bytes of hash input: addresses, then ports */
  inputLength: number;
  /** bytes of one address */
  addressLength: 4 | 16;
}

export const FIELD_SETS: Readonly<Record<FieldSetName, FieldSetInfo>> = {
  'ipv4': { id: FieldSet.IPV4, family: 4, ports: false, inputLength: IPV4_INPUT, addressLength: 4 },
  'ipv4-l4': { id: FieldSet.IPV4_L4, family: 4, ports: true, inputLength: IPV4_L4_INPUT, addressLength: 4 },
  'ipv6': { id: FieldSet.IPV6, family: 6, ports: false, inputLength: IPV6_INPUT, addressLength: 16 },
  'ipv6-l4': { id: FieldSet.IPV6_L4, family: 6, ports: true, inputLength: IPV6_L4_INPUT, addressLength: 16 },
};

export const HASH_FUNCTIONS: Readonly<Record<HashFunctionName, HashFunction>> = {
  toeplitz: HashFunction.TOEPLITZ,
  xor: HashFunction.XOR,
};

export const TRANSFORMS: Readonly<Record<TransformName, InputTransform>> = {
  'none': InputTransform.NONE,
  'symmetric-xor': InputTransform.SYMMETRIC_XOR,
  'symmetric-or-xor': InputTransform.SYMMETRIC_OR_XOR,
};

function oneOf<T extends string>(names: readonly T[], text: string, subject: string): T {
  if ((names as readonly string[]).includes(text)) return text as T;
  return invalid(subject, text, `expected one of ${names.join(', ')}`);
}

export const parseFieldSet = (text: string, subject = 'field set') =>
  oneOf(Object.keys(FIELD_SETS) as FieldSetName[], text, subject);
export const parseHashFunction = (text: string, subject = 'hash function') =>
  oneOf(Object.keys(HASH_FUNCTIONS) as HashFunctionName[], text, subject);
export const parseTransform = (text: string, subject = 'input transform') =>
  oneOf(Object.keys(TRANSFORMS) as TransformName[], text, subject);

/** One flow's hash input as text and numbers: what a user types. */
export interface Tuple {
  src: string | Uint8Array;
  dst: string | Uint8Array;
  sport?: number;
  dport?: number;
}

/**
 * Encodes a tuple as the field set's hash input, network order: src, dst[, sport, dport].
 * Addresses must be of the field set's family; ports are required exactly when it has them.
 */
export function encodeTuple(fields: FieldSetName, tuple: Tuple, out: Uint8Array = new Uint8Array(FIELD_SETS[fields].inputLength)): Uint8Array {
  const info = FIELD_SETS[fields];
  const address = (value: string | Uint8Array, subject: string) => {
    const bytes = typeof value === 'string' ? parseAddress(value, subject).bytes : value;
    if (bytes.length !== info.addressLength) {
      invalid(subject, typeof value === 'string' ? value : `${bytes.length} bytes`, `field set ${fields} takes IPv${info.family} addresses`);
    }
    return bytes;
  };
  out.set(address(tuple.src, 'source address'), 0);
  out.set(address(tuple.dst, 'destination address'), info.addressLength);
  if (info.ports) {
    if (tuple.sport === undefined || tuple.dport === undefined) {
      invalid('field set', fields, 'needs a source and a destination port');
    }
    const sport = parsePort(tuple.sport, 'source port');
    const dport = parsePort(tuple.dport, 'destination port');
    const p = 2 * info.addressLength;
    out[p] = sport >> 8;
    out[p + 1] = sport & 0xff;
    out[p + 2] = dport >> 8;
    out[p + 3] = dport & 0xff;
  }
  return out;
}
