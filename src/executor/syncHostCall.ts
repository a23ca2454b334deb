/**
 * The function's side of a synchronous host-service call, for the QuickJS worker (functionWorker.ts)
 * and the V8 child process (v8Runner.ts) alike: the call is posted to the thread that serves it, and
 * the function's thread blocks (Atomics.wait) until the reply is posted back and the flag set, or
 * until the run's deadline, so a call is synchronous for the function, as on a node.
 */
import { MessagePort, receiveMessageOnPort } from 'worker_threads';
import type { HostCall, HostResult } from '../hostservices/types';

/** A caller for one thread: `post` sends call number `seq`; the replies (`{ seq, result }`) arrive on `replies`, and `flag[0]` is set to 1 with each. */
export function syncHostCaller(flag: Int32Array, replies: MessagePort, post: (runId: number, seq: number, call: HostCall) => void): (runId: number, deadline: number | undefined, call: HostCall) => HostResult {
  let seq = 0;
  return (runId, deadline, call) => {
    const mine = ++seq;
    Atomics.store(flag, 0, 0);
    post(runId, mine, call);
    for (;;) {
      const received = receiveMessageOnPort(replies);
      if (received) {
        const reply = received.message as { seq: number; result: HostResult };
        if (reply.seq === mine) {
          return reply.result;
        }
        continue; // a late reply to a call that timed out earlier
      }
      const remaining = deadline === undefined ? Infinity : deadline - Date.now();
      if (remaining <= 0) {
        return { ok: false, code: 504, reason: 'timeout', message: `the host-service call did not complete before the function's time limit` };
      }
      Atomics.wait(flag, 0, 0, remaining === Infinity ? undefined : remaining);
      Atomics.store(flag, 0, 0);
    }
  };
}
