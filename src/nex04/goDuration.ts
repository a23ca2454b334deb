/**
 * Go's time.ParseDuration, with its error texts (a 0.4.1 node parses LAMEDUCK's `delay` with it and
 * puts the error in its reply): "1m0s", "1.5h", "-2s" and "0" parse; "soon" gives
 * `time: invalid duration "soon"`, "10" `time: missing unit in duration "10"`, "10x"
 * `time: unknown unit "x" in duration "10x"`. Results are in nanoseconds, as a number (exact up to
 * 2^53 ns, about 104 days; Go's limit is 2^63 ns).
 */

const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const MAX_NANOS = 2 ** 63;

/** The time package's quote: ASCII as is (with `"` and `\` escaped), anything else as \x bytes. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) {
        out += `\\x${byte.toString(16).padStart(2, '0')}`;
      }
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}

export class GoDurationError extends Error {
  override name = 'GoDurationError';
}

/** Parses a Go duration into nanoseconds; throws GoDurationError with Go's text. */
export function parseGoDuration(text: string): number {
  const invalid = () => new GoDurationError(`time: invalid duration ${quote(text)}`);
  let s = text;
  let negative = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') {
    return 0;
  }
  if (s === '') {
    throw invalid();
  }
  let total = 0;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) {
      throw invalid();
    }
    const whole = /^[0-9]*/.exec(s)![0];
    s = s.slice(whole.length);
    let fraction = '';
    let hadFraction = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      fraction = /^[0-9]*/.exec(s)![0];
      s = s.slice(fraction.length);
      hadFraction = fraction.length > 0;
    }
    if (whole === '' && !hadFraction) {
      throw invalid();
    }
    let i = 0;
    while (i < s.length && !(s[i] === '.' || (s[i] >= '0' && s[i] <= '9'))) {
      i++;
    }
    if (i === 0) {
      throw new GoDurationError(`time: missing unit in duration ${quote(text)}`);
    }
    const unit = s.slice(0, i);
    s = s.slice(i);
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) {
      throw new GoDurationError(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    }
    const v = Number(whole || '0');
    if (v > MAX_NANOS / scale) {
      throw invalid();
    }
    total += v * scale + (hadFraction ? Math.floor(Number(`0.${fraction}`) * scale) : 0);
    if (total > MAX_NANOS) {
      throw invalid();
    }
  }
  if (!negative && total > MAX_NANOS - 1) {
    throw invalid();
  }
  return negative ? -total : total;
}
