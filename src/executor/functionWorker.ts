/**
 * Worker-thread entry: the boundary between the editor (or CLI) and user code. Loads QuickJS once
 * (and @wasmer/wasi on the first WebAssembly run), then answers run requests one at a time. Host-service calls block this thread (Atomics.wait)
 * while the parent does the work, so they are synchronous for the function, as on a node. If user
 * code never yields, the parent terminates this thread and starts a new one.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'worker_threads';
import { HostCall, HostResult } from '../hostservices/types';
import type { HostCallMessage, HostReplyMessage, WorkerInit, WorkerRequest, WorkerResponse } from './workerMessages';
import { loadQuickJS, runJsFunction } from './quickjsEngine';
import { DEFAULT_LIMITS, RunOutcome } from './types';
import { loadWasi, runWasiFunction } from './wasiEngine';

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const flag = new Int32Array(init.signal);
  let seq = 0;

  const callHost = (runId: number, deadline: number, call: HostCall): HostResult => {
    const mine = ++seq;
    Atomics.store(flag, 0, 0);
    port.postMessage({ hostCall: { runId, seq: mine, call } } satisfies HostCallMessage);
    for (;;) {
      const received = receiveMessageOnPort(init.replies);
      if (received) {
        const reply = received.message as HostReplyMessage;
        if (reply.seq === mine) {
          return reply.result;
        }
        continue; // a late reply to a call that timed out earlier
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        return { ok: false, code: 504, reason: 'timeout', message: `the host-service call did not complete before the function's time limit` };
      }
      Atomics.wait(flag, 0, 0, remaining);
      Atomics.store(flag, 0, 0);
    }
  };

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
