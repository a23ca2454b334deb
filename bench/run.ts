/**
 * npm run bench: the cost of the worker boundary. Runs the same warm echo function N times
 * in-process on QuickJS (the baseline) and through JsFunctionRunner (worker thread, the way the
 * editor and CLI run functions), and reports percentiles and their ratio. Numbers are for
 * comparison within one run on one machine, not absolute promises.
 */
import { utf8 } from '../src/core/bytes';
import { JsFunctionRunner } from '../src/executor/jsRunner';
import { loadQuickJS, runJsFunction } from '../src/executor/quickjsEngine';
import { DEFAULT_LIMITS, JsRunRequest } from '../src/executor/types';

const N = Number(process.env.BENCH_N ?? 2000);
const request: JsRunRequest = {
  source: '(subject, payload) => payload;',
  fileName: 'echo.js',
  subject: 'bench.echo',
  payload: utf8('hello, nex'),
  limits: DEFAULT_LIMITS,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples: number[]): { p50: number; p95: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

async function main(): Promise<void> {
  const qjs = await loadQuickJS();
  const inProcess: number[] = [];
  for (let i = 0; i < N + 100; i++) {
    const t0 = performance.now();
    const out = runJsFunction(qjs, request);
    const dt = performance.now() - t0;
    if (!out.ok) throw new Error(out.error!.message);
    if (i >= 100) inProcess.push(dt);
  }

  const coldStart = performance.now();
  const runner = new JsFunctionRunner();
  await runner.run(request);
  const coldMs = performance.now() - coldStart;
  const viaWorker: number[] = [];
  for (let i = 0; i < N + 100; i++) {
    const t0 = performance.now();
    const out = await runner.run(request);
    const dt = performance.now() - t0;
    if (!out.ok) throw new Error(out.error!.message);
    if (i >= 100) viaWorker.push(dt);
  }
  runner.dispose();

  const base = summary(inProcess);
  const worker = summary(viaWorker);
  const f = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  console.log(`warm echo, ${N} runs each (fresh QuickJS runtime + context per run, as a node re-runs the script per trigger)`);
  console.log(`  baseline: in-process QuickJS       p50 ${f(base.p50)}  p95 ${f(base.p95)}  mean ${f(base.mean)}`);
  console.log(`  worker boundary (JsFunctionRunner) p50 ${f(worker.p50)}  p95 ${f(worker.p95)}  mean ${f(worker.mean)}`);
  console.log(`  ratio worker/baseline: p50 ${(worker.p50 / base.p50).toFixed(2)}x  p95 ${(worker.p95 / base.p95).toFixed(2)}x`);
  console.log(`  cold start (new worker + QuickJS load + first run): ${coldMs.toFixed(1)} ms = ${(coldMs / worker.p50).toFixed(0)}x a warm run`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
