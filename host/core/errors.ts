/**
 * Errors are values with an errno-style `code`, as the mTCP man page's convention has it, plus
 * the subject and the offending value, so a caller (or the CLI) can say exactly what was wrong.
 */

/** Codes used across rssplane; the errno names mean what they mean in POSIX. */
export type ErrorCode =
  /** a value is malformed or out of range */
  | 'EINVAL'
  /** a buffer or table could not be sized */
  | 'ENOMEM'
  /** a port pool is exhausted (mTCP's connect says EAGAIN) */
  | 'EADDRNOTAVAIL'
  /** an explicit bind to a port that is taken */
  | 'EADDRINUSE'
  /** a file or device is missing */
  | 'ENOENT'
  /** the WebAssembly engine failed an internal check */
  | 'EFAULT'
  /** no such device (a DPDK port that EAL did not find) */
  | 'ENODEV'
  /** not available in this build or on this device (DPDK support not built) */
  | 'ENOTSUP'
  /** a device call failed for a reason of its own */
  | 'EIO';

export class RssplaneError extends Error {
  override readonly name = 'RssplaneError';

  /**
   * @param code    errno name
   * @param message one line, naming the bad value
   * @param subject what the value was for (`key`, `--src`, `reta`...), when there is one
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly subject?: string,
  ) {
    super(message);
  }
}

/** Throws EINVAL with a message of the form `bad <subject> "<value>": <why>`. */
export function invalid(subject: string, value: unknown, why: string): never {
  throw new RssplaneError('EINVAL', `bad ${subject} ${JSON.stringify(String(value))}: ${why}`, subject);
}
