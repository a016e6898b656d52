// What the scripts beside the benchmarks share: their options as `--name value` pairs, and the
// median and rounding their figures are reported with (as `rssplane bench` reports its own).

/** The value after `--name` on the command line, or `fallback` when it is not there. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`, 2);
  return i < 0 ? fallback : process.argv[i + 1];
}

/** Whether `--name` is on the command line. */
export const flag = (name) => process.argv.includes(`--${name}`, 2);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `x` to `places` decimal places. */
export const round = (x, places = 3) => Math.round(x * 10 ** places) / 10 ** places;
