/**
 * Worker-thread entry: the boundary between the editor (or CLI) and user code. Loads QuickJS once,
 * then answers run requests one at a time. If user code never yields, the parent terminates this
 * thread and starts a new one.
 */
import { parentPort, workerData } from 'worker_threads';
import { loadQuickJS, runJsFunction } from './quickjsEngine';
import { JsRunRequest, RunOutcome } from './types';

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
