/**
 * Worker-thread entry: the boundary between the editor (or CLI) and user code. Loads QuickJS once,
 * then answers run requests one at a time. If user code never yields, the parent terminates this
 * thread and starts a new one.
 */
import { parentPort, workerData } from 'worker_threads';
import { loadQuickJS, runJsFunction } from './quickjsEngine';
import { DEFAULT_LIMITS, JsRunRequest, RunOutcome } from './types';

export interface WorkerRequest {
  id: number;
  request: JsRunRequest;
}
export type WorkerResponse = { id: number; outcome: RunOutcome } | { ready: true } | { fatal: string };

const port = parentPort;
if (port) {
  const wasmPath: string | undefined = workerData?.wasmPath;
  loadQuickJS(wasmPath).then(
    (qjs) => {
      // One throw-away run compiles the engine's hot paths, so the user's first run is warm.
      runJsFunction(qjs, { source: '(s, p) => p', fileName: '<warm-up>', subject: 'warm.up', payload: new Uint8Array([1]), limits: DEFAULT_LIMITS });
      port.postMessage({ ready: true } satisfies WorkerResponse);
      port.on('message', (msg: WorkerRequest) => {
        const outcome = runJsFunction(qjs, msg.request);
        const transfer = outcome.reply ? [outcome.reply.buffer as ArrayBuffer] : [];
        port.postMessage({ id: msg.id, outcome } satisfies WorkerResponse, transfer);
      });
    },
    (e: Error) => port.postMessage({ fatal: `could not start the JavaScript runtime: ${e.message}` } satisfies WorkerResponse),
  );
}
