// What the scripts beside the benchmarks share: their options as `--name value` pairs, and the
// median and rounding their figures are reported with (as `rssplane bench` reports its own).

/** The value after `--name` on the command line, or `fallback` when it is not there. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`, 2);
  return i < 0 ? fallback : process.argv[i + 1];
}

/**
 * `--name N` as an integer from `min` to `max` (`fallback` when it is not there); anything else
 * ends the script with one line naming the range and exit status 2.
 */
export function integerOption(name, fallback, min, max) {
  const value = Number(option(name, String(fallback)));
  if (!Number.isInteger(value) || value < min || value > max) {
    const script = process.argv[1]?.split('/').pop() ?? 'script';
    process.stderr.write(`${script}: bad --${name} "${option(name)}": expected ${min} to ${max}\n`);
    process.exit(2);
  }
  return value;
}

/** Whether `--name` is on the command line. */
export const flag = (name) => process.argv.includes(`--${name}`, 2);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `x` to `places` decimal places. */
export const round = (x, places = 3) => Math.round(x * 10 ** places) / 10 ** places;
