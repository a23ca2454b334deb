/**
 * Worker-thread entry: the boundary between the editor (or CLI) and user code. Loads QuickJS once
 * (and @wasmer/wasi on the first WebAssembly run), then answers run requests one at a time. Host-service calls block this thread (Atomics.wait)
 * while the parent does the work, so they are synchronous for the function, as on a node. If user
 * code never yields, the parent terminates this thread and starts a new one.
 */
import { parentPort, workerData } from 'worker_threads';
import type { HostCallMessage, WorkerInit, WorkerRequest, WorkerResponse } from './workerMessages';
import { loadQuickJS, runJsFunction } from './quickjsEngine';
import { syncHostCaller } from './syncHostCall';
import { DEFAULT_LIMITS, RunOutcome } from './types';
import { loadWasi, runWasiFunction } from './wasiEngine';

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const flag = new Int32Array(init.signal);
  const callHost = syncHostCaller(flag, init.replies, (runId, seq, call) => port.postMessage({ hostCall: { runId, seq, call } } satisfies HostCallMessage));

  loadQuickJS(init.wasmPath).then(
    (qjs) => {
      // One throw-away run compiles the engine's hot paths, so the user's first run is warm.
      runJsFunction(qjs, { source: '(s, p) => p', fileName: '<warm-up>', subject: 'warm.up', payload: new Uint8Array([1]), limits: DEFAULT_LIMITS });
      port.postMessage({ ready: true } satisfies WorkerResponse);
      port.on('message', async (msg: WorkerRequest) => {
        const request = msg.request;
        let outcome: RunOutcome;
        if (request.kind === 'wasm') {
          await loadWasi();
          outcome = runWasiFunction(request);
        } else {
          const deadline = Date.now() + request.limits.timeoutMs;
          outcome = runJsFunction(qjs, request, { host: (call) => callHost(msg.id, deadline, call), deadline });
        }
        const transfer = outcome.reply ? [outcome.reply.buffer as ArrayBuffer] : [];
        port.postMessage({ id: msg.id, outcome } satisfies WorkerResponse, transfer);
      });
    },
    (e: Error) => port.postMessage({ fatal: `could not start the JavaScript runtime: ${e.message}` } satisfies WorkerResponse),
  );
}
