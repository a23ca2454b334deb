/** What the benchmarks share: percentiles, timing loops and the report's row format. */

export const WARMUP = 100;

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export function stats(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { p50: at(50), p95: at(95), p99: at(99) };
}

/** Runs `fn` `warmup` times untimed, then `n` times timed, one after the other; the times in ms. */
export async function timeAsync(n: number, fn: (i: number) => Promise<unknown>, warmup = WARMUP): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const t0 = performance.now();
    await fn(i);
    if (i >= warmup) out.push(performance.now() - t0);
  }
  return out;
}

export function timeSync(n: number, fn: (i: number) => unknown, warmup = WARMUP): number[] {
  const out: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const t0 = performance.now();
    fn(i);
    if (i >= warmup) out.push(performance.now() - t0);
  }
  return out;
}

export const us = (ms: number) => `${(ms * 1000).toFixed(0).padStart(6)} µs`;
export const ms = (x: number) => `${x.toFixed(1).padStart(6)} ms`;

export const row = (label: string, s: { p50: number; p95: number }, base?: { p50: number }) =>
  console.log(`  ${label.padEnd(48)} p50 ${us(s.p50)}  p95 ${us(s.p95)}${base ? `   ${(s.p50 / base.p50).toFixed(2)}x` : ''}`);

export const msRow = (label: string, s: { p50: number; p95: number }, base?: { p50: number }) =>
  console.log(`  ${label.padEnd(48)} p50 ${ms(s.p50)}  p95 ${ms(s.p95)}${base ? `   ${(s.p50 / base.p50).toFixed(2)}x` : ''}`);
