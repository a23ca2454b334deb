/**
 * npm run bench: what a local run costs, measured in one process so the numbers compare.
 * - warm echo through the worker boundary (WorkerExecutor, as the editor and CLI run functions)
 *   next to the same run on QuickJS in-process and to Node's `vm` (V8, as real nodes use);
 * - the first run after the source changed (new source text: a fresh compile);
 * - a host-service KV get (mock backend) through the boundary, next to the same call in-process;
 * - a warm WebAssembly echo through the boundary, next to @wasmer/wasi in-process;
 * - save to results for a function with 20 trigger cases, next to the sum of its executor times;
 * - QuickJS next to V8 in a child process, for an echo and a CPU-heavy function (bench/engines.ts);
 * - the local Nex node on a private nats-server (bench/localNode.ts): trigger round trips, sustained
 *   throughput and deploy times;
 * - the functions nexlet on the local node's 0.4.1 mode (bench/nexlet.ts): trigger round trip, one
 *   instance against two in a queue group, a deploy by auction against a 0.2.7 deploy.
 * Report ratios against the baselines; these are not pass/fail thresholds.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { loadValidFunction } from '../src/core/manifest';
import { runTriggerCase } from '../src/triggers/caseRunner';
import { loadTriggerFiles } from '../src/triggers/triggerCases';
import { utf8 } from '../src/core/bytes';
import { WorkerExecutor } from '../src/executor/workerExecutor';
import { loadQuickJS, runJsFunction } from '../src/executor/quickjsEngine';
import { DEFAULT_LIMITS, JsRunRequest, WasmRunRequest } from '../src/executor/types';
import { MockHostServices } from '../src/hostservices/mockBackend';
import { loadWasi, runWasiFunction } from '../src/executor/wasiEngine';
import { buildWat, tempDir } from '../test/support/wasmFixtures';
import { benchLocalNode } from './localNode';
import { benchDeploy } from './deploy';
import { benchExplorer } from './explorer';
import { benchEngines } from './engines';
import { benchNexlet } from './nexlet';
import { ms, row, stats, timeAsync, timeSync, us, WARMUP } from './measure';

const N = Number(process.env.BENCH_N ?? 2000);

const echo: JsRunRequest = { source: '(subject, payload) => payload;', fileName: 'echo.js', subject: 'bench.echo', payload: utf8('hello, nex'), limits: DEFAULT_LIMITS };
const kvGetSource = '(subject, payload) => hostServices.kv.get("greeting");';
const kvGet: JsRunRequest = { ...echo, source: kvGetSource, fileName: 'kv.js', workload: 'bench', namespace: 'default' };
const kvGetTwice: JsRunRequest = { ...kvGet, source: '(subject, payload) => { hostServices.kv.get("greeting"); return hostServices.kv.get("greeting"); };' };

function check(out: { ok: boolean; error?: { message: string } }): void {
  if (!out.ok) throw new Error(out.error!.message);
}

async function main(): Promise<void> {
  const qjs = await loadQuickJS();
  const mock = () => new MockHostServices('hs_default_bench_kv').seed({ kv: { greeting: 'hello' } });
  const inProcessMock = mock();

  const nodeVm = stats(
    timeSync(N, () => {
      const fn = vm.runInNewContext(echo.source, {}, { filename: 'echo.js' }) as (s: string, p: Uint8Array) => unknown;
      fn(echo.subject, echo.payload);
    }),
  );
  const quickjs = stats(timeSync(N, () => check(runJsFunction(qjs, echo))));
  const quickjsKv = stats(timeSync(N, () => check(runJsFunction(qjs, kvGet, { host: (c) => inProcessMock.callSync(c) }))));
  const quickjsKv2 = stats(timeSync(N, () => check(runJsFunction(qjs, kvGetTwice, { host: (c) => inProcessMock.callSync(c) }))));

  const coldStart = performance.now();
  const runner = new WorkerExecutor();
  check(await runner.run(echo));
  const coldMs = performance.now() - coldStart;
  const worker = stats(await timeAsync(N, async () => check(await runner.run(echo))));
  const changed = stats(await timeAsync(Math.min(N, 500), async (i) => check(await runner.run({ ...echo, source: `// edit ${i}\n(subject, payload) => { const n = ${i}; return payload; };` }))));
  const backend = mock();
  const workerKv = stats(await timeAsync(N, async () => check(await runner.run(kvGet, { hostServices: backend }))));
  const workerKv2 = stats(await timeAsync(N, async () => check(await runner.run(kvGetTwice, { hostServices: backend }))));
  // Save to results: parse a function's trigger file and run its 20 cases (what a save triggers),
  // next to the sum of the bare executor times of the same runs.
  const caseDir = tempDir('nex-bench-cases-');
  fs.writeFileSync(path.join(caseDir, 'nexfunction.json'), JSON.stringify({ name: 'bench', type: 'v8', source: 'fn.js', triggers: ['bench.*'] }));
  fs.writeFileSync(path.join(caseDir, 'fn.js'), '(subject, payload) => ({ subject, size: payload.length });');
  fs.mkdirSync(path.join(caseDir, 'triggers'));
  fs.writeFileSync(
    path.join(caseDir, 'triggers', 'cases.json'),
    JSON.stringify({ cases: Array.from({ length: 20 }, (_, i) => ({ name: `case ${i}`, subject: `bench.${i}`, payload: 'x'.repeat(i), expect: { reply: { json: { subject: `bench.${i}`, size: i } } } })) }),
  );
  const saveToResults: number[] = [];
  const bareSums: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const def = loadValidFunction(caseDir);
    let bare = 0;
    for (const tc of loadTriggerFiles(def).flatMap((f) => f.cases)) {
      const r = await runTriggerCase(runner, def, tc);
      if (r.status !== 'passed') throw new Error(r.failures.join('; '));
      bare += r.run!.outcome.durationMs;
    }
    if (i >= 10) {
      saveToResults.push(performance.now() - t0);
      bareSums.push(bare);
    }
  }

  await loadWasi();
  const wasmEcho: WasmRunRequest = { kind: 'wasm', artifactPath: await buildWat('echo', tempDir('nex-bench-')), subject: 'bench.echo', payload: utf8('hello, nex'), limits: DEFAULT_LIMITS, workload: 'bench' };
  const wasiInProcess = stats(timeSync(N, () => check(runWasiFunction(wasmEcho))));
  const wasiWorker = stats(await timeAsync(N, async () => check(await runner.run(wasmEcho))));
  runner.dispose();
  const reportLocalNode = await benchLocalNode({ jsWarmRun: worker, wasmWarmRun: wasiWorker });
  const reportDeploy = await benchDeploy();
  const reportNexlet = await benchNexlet({ jsWarmRun: worker });
  const reportEngines = await benchEngines(Math.min(N, 1000));

  console.log(`Local runs, ${N} samples each after ${WARMUP} warm-up runs (p50 and ratio to the baseline above it)`);
  console.log('warm echo:');
  row('baseline: Node vm (V8), new context per run', nodeVm);
  row('baseline: QuickJS in-process', quickjs, nodeVm);
  row('through the worker boundary (WorkerExecutor)', worker, quickjs);
  console.log('first run after the source changed:');
  row('through the worker boundary', changed, worker);
  console.log('host-service KV get (mock backend):');
  row('QuickJS in-process, one get', quickjsKv, quickjs);
  row('through the worker boundary, one get', workerKv, worker);
  const perGetInProcess = quickjsKv2.p50 - quickjsKv.p50;
  const perGetWorker = workerKv2.p50 - workerKv.p50;
  console.log(`  cost of one get (two gets minus one): in-process ${us(perGetInProcess)}, through the boundary ${us(perGetWorker)}`);
  console.log('warm WebAssembly (WASI) echo:');
  row('baseline: @wasmer/wasi in-process (cached module)', wasiInProcess);
  row('through the worker boundary', wasiWorker, wasiInProcess);
  const str = stats(saveToResults);
  const bare = stats(bareSums);
  console.log('save to results, a function with 20 trigger cases (parse, run, check):');
  console.log(`  ${'sum of the bare executor times'.padEnd(48)} p50 ${ms(bare.p50)}`);
  console.log(`  ${'whole loop'.padEnd(48)} p50 ${ms(str.p50)}  p95 ${ms(str.p95)}   ${(str.p50 / bare.p50).toFixed(2)}x`);
  console.log(`cold start (new worker, QuickJS load, warm-up, first run): ${coldMs.toFixed(1)} ms`);
  reportEngines();
  reportLocalNode();
  reportDeploy();
  reportNexlet();
  await benchExplorer();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
