/** The messages between the function runner (the editor's or CLI's thread) and the worker that runs user code. */
import type { MessagePort } from 'worker_threads';
import type { HostCall, HostResult } from '../hostservices/types';
import type { RunOutcome, RunRequest } from './types';

export interface WorkerRequest {
  id: number;
  request: RunRequest;
}
export interface HostCallMessage {
  hostCall: { runId: number; seq: number; call: HostCall };
}
export interface HostReplyMessage {
  seq: number;
  result: HostResult;
}
export type WorkerResponse = { id: number; outcome: RunOutcome } | { ready: true } | { fatal: string } | HostCallMessage;

export interface WorkerInit {
  wasmPath?: string;
  /** Int32Array[1] over a SharedArrayBuffer: the parent sets it to 1 when a host reply is posted. */
  signal: SharedArrayBuffer;
  /** Where the parent posts host-call replies; read synchronously with receiveMessageOnPort. */
  replies: MessagePort;
}
