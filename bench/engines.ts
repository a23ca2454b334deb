/**
 * The two JavaScript engines side by side, in the same run: a warm echo and a CPU-heavy function
 * (3 million loop iterations) on QuickJS through the worker and on V8 through its child process
 * (the `"engine": "v8"` choice, and what a debug run runs on), next to the same function on Node's
 * `vm` in-process; the V8 child's cold start (spawn to first reply).
 */
import * as path from 'path';
import * as vm from 'vm';
import { utf8 } from '../src/core/bytes';
import { WorkerExecutor } from '../src/executor/workerExecutor';
import { DEFAULT_LIMITS, JsRunRequest } from '../src/executor/types';
import { V8ProcessExecutor } from '../src/executor/v8Process';
import { msRow, row, stats, timeAsync, timeSync } from './measure';

const CPU_SOURCE = '(subject, payload) => { let x = 0; for (let i = 0; i < 3000000; i++) { x = (x + i * 7) % 1000003; } return String(x); };';

export async function benchEngines(n: number): Promise<() => void> {
  const echo: JsRunRequest = { source: '(subject, payload) => payload;', fileName: 'echo.js', subject: 'bench.echo', payload: utf8('hello, nex'), limits: DEFAULT_LIMITS };
  const cpu: JsRunRequest = { ...echo, source: CPU_SOURCE, fileName: 'cpu.js', limits: { ...DEFAULT_LIMITS, timeoutMs: 60000 } };
  const check = (o: { ok: boolean; error?: { message: string } }) => {
    if (!o.ok) throw new Error(o.error!.message);
  };
  const runner = new WorkerExecutor();
  const v8 = new V8ProcessExecutor(path.join(__dirname, '..', 'src', 'executor', 'v8Runner.js'));
  const coldStart = performance.now();
  check(await v8.run({ ...echo, engine: 'v8' }));
  const coldMs = performance.now() - coldStart;
  const quickjsEcho = stats(await timeAsync(n, async () => check(await runner.run(echo))));
  const v8Echo = stats(await timeAsync(n, async () => check(await v8.run({ ...echo, engine: 'v8' }))));
  const heavyN = 10;
  const vmCpu = stats(timeSync(heavyN, () => (vm.runInNewContext(CPU_SOURCE, {}) as (s: string, p: Uint8Array) => unknown)('s', new Uint8Array()), 2));
  const quickjsCpu = stats(await timeAsync(heavyN, async () => check(await runner.run(cpu)), 2));
  const v8Cpu = stats(await timeAsync(heavyN, async () => check(await v8.run({ ...cpu, engine: 'v8' })), 2));
  runner.dispose();
  v8.dispose();
  return () => {
    console.log('JavaScript engines (QuickJS worker vs V8 child process):');
    console.log('  warm echo:');
    row('  QuickJS through the worker', quickjsEcho);
    row('  V8 through the child process', v8Echo, quickjsEcho);
    console.log(`  CPU-heavy function (3 million iterations), ${heavyN} runs:`);
    msRow('  baseline: Node vm in-process', vmCpu);
    msRow('  QuickJS through the worker', quickjsCpu, vmCpu);
    msRow('  V8 through the child process', v8Cpu, vmCpu);
    console.log(`  QuickJS takes ${(quickjsCpu.p50 / v8Cpu.p50).toFixed(0)}x as long as V8 here`);
    console.log(`  V8 child cold start (spawn, connect, first run): ${coldMs.toFixed(1)} ms`);
  };
}
