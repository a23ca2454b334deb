/**
 * Uptimes as Nex nodes print them (the NATS server's style, "2m26s", "1d2h3m4s"; 0.3 workloads also
 * Go durations such as "1.5s"), both ways. A reader keeps the start time an uptime stands for, so
 * an uptime shown later is derived from it instead of repeating what the node said back then.
 */

/** An uptime as NATS servers and Nex nodes print it: "45s", "2m26s", "1h0m3s", "1d2h3m4s". */
export function formatUptime(ms: number): string {
  let seconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (days > 0) {
    return `${days}d${hours}h${minutes}m${seconds}s`;
  }
  if (hours > 0) {
    return `${hours}h${minutes}m${seconds}s`;
  }
  if (minutes > 0) {
    return `${minutes}m${seconds}s`;
  }
  return `${seconds}s`;
}

/**
 * How long something has been up now, from the start time (ISO 8601) a reader derived or a node
 * said; what its node last reported when that time is missing or unreadable ("" when unknown too).
 */
export function uptimeSince(startedAt: string | undefined, reported = '', now = Date.now()): string {
  const start = startedAt ? Date.parse(startedAt) : NaN;
  return Number.isNaN(start) ? reported : formatUptime(now - start);
}

const UNIT_MS: Record<string, number> = { d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** The milliseconds an uptime or Go duration stands for ("1d2h3m4s", "2m3.5s", "350ms"); undefined when it is not one. */
export function parseUptime(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') {
    return undefined;
  }
  const part = /(\d+(?:\.\d+)?)(ms|us|µs|ns|d|h|m|s)/y;
  let total = 0;
  let at = 0;
  while (at < trimmed.length) {
    part.lastIndex = at;
    const match = part.exec(trimmed);
    if (!match) {
      return undefined;
    }
    total += Number(match[1]) * UNIT_MS[match[2]];
    at = part.lastIndex;
  }
  return total;
}

/** A duration as Go's time.Duration.String() prints it, for INFO's `runtime`: "0s", "350ms", "1.5s", "2m3.2s". */
export function formatGoDuration(nanos: number): string {
  if (nanos === 0) {
    return '0s';
  }
  if (nanos < 1000) {
    return `${nanos}ns`;
  }
  if (nanos < 1e6) {
    return `${trim(nanos / 1e3)}µs`;
  }
  if (nanos < 1e9) {
    return `${trim(nanos / 1e6)}ms`;
  }
  const totalSeconds = nanos / 1e9;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds - hours * 3600) / 60);
  const seconds = totalSeconds - hours * 3600 - minutes * 60;
  return `${hours > 0 ? `${hours}h` : ''}${hours > 0 || minutes > 0 ? `${minutes}m` : ''}${trim(seconds)}s`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(9)));
}
