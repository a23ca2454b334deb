/**
 * The messages between the editor (or CLI) and the V8 child process that runs a JavaScript function
 * (v8Runner.ts): one JSON object per line over a local socket, bytes as base64. The child proves it
 * was started for this link with the token it got in its environment.
 */
import type { HostCall, HostResult } from '../hostservices/types';
import type { JsRunRequest, RunOutcome } from './types';

/** Environment variables that tell the child where to connect. */
export const V8_SOCKET_ENV = 'NEX_V8_SOCKET';
export const V8_TOKEN_ENV = 'NEX_V8_TOKEN';

export type ToChild =
  | { type: 'run'; id: number; request: JsRunRequest; debugging: boolean; /** exit after this run */ last: boolean }
  | { type: 'hostReply'; seq: number; result: HostResult };

export type FromChild =
  | { type: 'hello'; token: string; pid: number }
  | { type: 'host'; runId: number; seq: number; call: HostCall }
  | { type: 'outcome'; id: number; outcome: RunOutcome };

const BYTES = '$bytes';

export function encodeLine(message: ToChild | FromChild): string {
  return (
    JSON.stringify(message, function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key];
      return raw instanceof Uint8Array ? { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
    }) + '\n'
  );
}

export function decodeLine<T extends ToChild | FromChild>(line: string): T {
  return JSON.parse(line, (_key, value: unknown) => {
    if (value && typeof value === 'object' && BYTES in value && Object.keys(value).length === 1) {
      const buf = Buffer.from((value as Record<string, string>)[BYTES], 'base64');
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return value;
  }) as T;
}

/** Calls `onLine` for each complete line of a stream of chunks. */
export function lineReader(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line) {
        onLine(line);
      }
    }
  };
}
