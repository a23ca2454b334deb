/**
 * Child-process entry that runs JavaScript functions on V8: started by the V8 engine runner
 * (v8Process.ts) or, for a debug run, by VS Code's JavaScript debugger. It connects back to the
 * socket named in its environment and runs what it is sent with v8Engine.ts.
 *
 * Host-service calls are synchronous for the function, as on a node: the main thread (the one the
 * debugger stops in) blocks on Atomics.wait while a relay thread does the socket I/O. When the
 * socket closes (the editor went away, or the run was stopped) the relay ends the whole process, so
 * a runaway function never outlives the one who started it.
 */
import * as net from 'net';
import { isMainThread, MessageChannel, MessagePort, parentPort, Worker, workerData } from 'worker_threads';
import { syncHostCaller } from './syncHostCall';
import { runJsOnV8 } from './v8Engine';
import { decodeLine, encodeLine, FromChild, lineReader, ToChild, V8_SOCKET_ENV, V8_TOKEN_ENV } from './v8Wire';

interface RelayInit {
  socketPath: string;
  token: string;
  signal: SharedArrayBuffer;
  replies: MessagePort;
}

/** Between the main thread and the relay thread. */
type MainToRelay = { send: FromChild; last?: boolean };

if (isMainThread) {
  runMain();
} else {
  runRelay(workerData as RelayInit);
}

function runMain(): void {
  const socketPath = process.env[V8_SOCKET_ENV];
  const token = process.env[V8_TOKEN_ENV];
  if (!socketPath || !token) {
    process.stderr.write(`v8Runner: started without ${V8_SOCKET_ENV} and ${V8_TOKEN_ENV}: it is started by the Nex Functions extension, not by hand\n`);
    process.exit(2);
  }
  // A promise the function rejected and left unhandled is its own business: Node's default (print
  // the reason, then end the process) would read the reason's stack from this realm, running the
  // function's Error.prepareStackTrace with this realm's call sites.
  process.on('unhandledRejection', () => undefined);
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const channel = new MessageChannel();
  const init: RelayInit = { socketPath, token, signal: shared, replies: channel.port2 };
  const relay = new Worker(__filename, { workerData: init, transferList: [channel.port2], env: {}, name: 'Nex host-call relay' });
  relay.on('exit', (code) => process.exit(code));
  relay.on('error', (e) => {
    process.stderr.write(`v8Runner: ${e.message}\n`);
    process.exit(1);
  });
  const callHost = syncHostCaller(flag, channel.port1, (runId, seq, call) => relay.postMessage({ send: { type: 'host', runId, seq, call } } satisfies MainToRelay));
  relay.on('message', (msg: ToChild) => {
    if (msg.type !== 'run') {
      return;
    }
    const deadline = msg.debugging ? undefined : Date.now() + msg.request.limits.timeoutMs;
    if (msg.debugging) {
      console.info(`Nex: running ${msg.request.workload ?? 'the function'} on V8 with subject "${msg.request.subject}" (no time limit while debugging)`);
    }
    const outcome = runJsOnV8(msg.request, {
      host: (call) => callHost(msg.id, deadline, call),
      deadline,
      debugging: msg.debugging,
      // Under the debugger the function's console lines show in the Debug Console too.
      echo: msg.debugging ? (level, text) => console[level](text) : undefined,
    });
    if (msg.debugging) {
      console.info(outcome.ok ? `Nex: ${outcome.reply ? `replied with ${outcome.reply.length} bytes` : 'no reply'} in ${outcome.durationMs.toFixed(1)} ms` : `Nex: ${outcome.error?.message}`);
    }
    relay.postMessage({ send: { type: 'outcome', id: msg.id, outcome }, last: msg.last } satisfies MainToRelay);
  });
}

function runRelay(init: RelayInit): void {
  const port = parentPort!;
  const flag = new Int32Array(init.signal);
  // Ends the whole process (from a worker, process.exit ends only the worker).
  const endProcess = () => process.kill(process.pid, 'SIGKILL');
  const socket = net.connect(init.socketPath);
  socket.on('error', endProcess);
  socket.on('close', endProcess);
  socket.on('connect', () => socket.write(encodeLine({ type: 'hello', token: init.token, pid: process.pid })));
  socket.on(
    'data',
    lineReader((line) => {
      const msg = decodeLine<ToChild>(line);
      if (msg.type === 'hostReply') {
        init.replies.postMessage({ seq: msg.seq, result: msg.result });
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      } else {
        port.postMessage(msg);
      }
    }),
  );
  port.on('message', (msg: MainToRelay) => {
    socket.write(encodeLine(msg.send), () => {
      if (msg.last) {
        socket.removeListener('close', endProcess);
        socket.end(() => process.exit(0));
      }
    });
  });
}
