/**
 * Numbers for people: 1234567 as "1,234,567". Not toLocaleString: its first call in a process
 * loads the ICU locale data, which costs a short run more than its work.
 */
export function grouped(n: number): string {
  const [whole, fraction] = String(n).split('.');
  const sign = whole!.startsWith('-') ? '-' : '';
  const digits = sign ? whole!.slice(1) : whole!;
  const text = digits.length > 3 && /^\d+$/.test(digits) ? digits.replace(/\B(?=(\d{3})+$)/g, ',') : digits;
  return `${sign}${text}${fraction !== undefined ? `.${fraction}` : ''}`;
}
