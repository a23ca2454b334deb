/**
 * The engine-neutral half of the host API: what a host-service call does once its arguments are
 * plain values, whichever engine the function runs on (QuickJS in the worker, V8 in a child
 * process). It records the call, applies what a node of the profile does to the arguments, calls
 * the backend synchronously, and words a failure as that node throws it.
 */
import { CompatProfile } from '../core/compat';
import { previewBytes } from '../core/bytes';
import { HostCall, HostCallRecord, HostResult, HostServiceName, HttpMethod } from '../hostservices/types';

export type SyncHostCaller = (call: HostCall) => HostResult;

export interface HostApiContext {
  profile: CompatProfile;
  namespace: string;
  workload: string;
  fileName: string;
  caller: SyncHostCaller;
  calls: HostCallRecord[];
  warn: (code: string, message: string, line?: number) => void;
}

/** What a host call gives back to the function: a value, or a plain string to throw. */
export interface CallOutcome {
  code: number;
  error?: string;
  bytes?: Uint8Array;
  json?: unknown;
}

export function performCall(ctx: HostApiContext, service: HostServiceName, method: string, args: Record<string, string>, body: Uint8Array | undefined, line?: number): CallOutcome {
  const started = performance.now();
  const record = (ok: boolean, result: string, shownArgs: Record<string, string> = summariseArgs(args, body)) => {
    ctx.calls.push({ service, method, args: shownArgs, ok, result, durationMs: performance.now() - started, line });
  };
  noteApiFamily(ctx, line);

  if (service === 'messaging' && method === 'requestMany') {
    const error = "this function isn't currently supported";
    if (ctx.profile === 'docs') {
      ctx.warn('request-many', 'messaging.requestMany is documented, but no Nex node implements it: it always throws', line);
    }
    record(false, error);
    return { code: 500, error };
  }

  if (body && ctx.profile !== 'docs' && body.some((b) => b >= 0x80)) {
    // A node turns the Uint8Array into a string with String.fromCharCode and back into Go bytes
    // as UTF-8: every byte >= 0x80 becomes two bytes.
    body = new Uint8Array(Buffer.from(Buffer.from(body).toString('latin1'), 'utf8'));
    ctx.warn('binary-corrupted', `Nex ${ctx.profile} re-encodes bytes >= 0x80 as UTF-8 on their way to ${service}.${method}: this binary value arrives altered (only ASCII round-trips)`, line);
  } else if (body && ctx.profile === 'docs' && body.some((b) => b >= 0x80)) {
    ctx.warn('binary-corrupted', `a Nex 0.2/0.3 node re-encodes bytes >= 0x80 as UTF-8 on their way to ${service}.${method}: this binary value would arrive altered (only ASCII round-trips)`, line);
  }

  let call: HostCall;
  switch (service) {
    case 'kv':
      call = method === 'keys' ? { service, method, bucket: args.bucket } : method === 'set' ? { service, method, bucket: args.bucket, key: args.key, value: body ?? new Uint8Array() } : { service, method: method as 'get' | 'delete', bucket: args.bucket, key: args.key };
      break;
    case 'objectStore':
      call = method === 'list' ? { service, method, bucket: args.bucket } : method === 'put' ? { service, method, bucket: args.bucket, name: args.name, value: body ?? new Uint8Array() } : { service, method: method as 'get' | 'delete', bucket: args.bucket, name: args.name };
      break;
    case 'messaging':
      call = { service, method: method as 'publish' | 'request', subject: args.subject, payload: body ?? new Uint8Array() };
      break;
    case 'http': {
      const url = nodeUrl(ctx, args.url, line);
      call = { service, method: method as HttpMethod, url, body };
      break;
    }
  }

  let result: HostResult;
  try {
    result = ctx.caller(call);
  } catch (e) {
    result = { ok: false, code: 500, reason: 'error', message: (e as Error).message };
  }
  if (!result.ok) {
    const error = nodeError(ctx, call, result, line);
    record(false, `${result.message} → throws ${JSON.stringify(error)}`);
    return { code: result.code === 200 ? 500 : result.code, error };
  }
  record(true, summariseResult(result));
  return { code: 200, bytes: result.bytes, json: result.json };
}

/** The string a node throws for a failed call. */
function nodeError(ctx: HostApiContext, call: HostCall, result: Extract<HostResult, { ok: false }>, line?: number): string {
  const isKvGetMiss = call.service === 'kv' && call.method === 'get' && result.reason === 'notFound';
  if (ctx.profile === '0.2') {
    // 0.2.x sends service failures with the message "OK" (fixed in 0.3).
    return `Error: OK (${isKvGetMiss ? 500 : result.code})`;
  }
  if (ctx.profile === '0.3') {
    return isKvGetMiss ? 'Error: failed to get value for key (500)' : `Error: ${result.message} (${result.code})`;
  }
  if (isKvGetMiss) {
    ctx.warn('kv-get-missing', 'for a missing key a Nex 0.2 node throws "Error: OK (500)" and a 0.3 node "Error: failed to get value for key (500)"', line);
  }
  return `Error: ${result.message} (${result.code})`;
}

/** A node rebuilds HTTP URLs as scheme://host/ + path: the query string is dropped. */
function nodeUrl(ctx: HostApiContext, url: string, line?: number): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (!parsed.search) {
    return url;
  }
  if (ctx.profile === 'docs') {
    ctx.warn('http-query-dropped', `a Nex node drops the query string of HTTP URLs: it would request ${parsed.origin}${parsed.pathname}`, line);
    return url;
  }
  ctx.warn('http-query-dropped', `Nex ${ctx.profile} drops the query string: requesting ${parsed.origin}${parsed.pathname}`, line);
  return `${parsed.origin}${parsed.pathname}`;
}

function noteApiFamily(ctx: HostApiContext, line?: number): void {
  if (ctx.profile === '0.3') {
    ctx.warn('api-0.3-only', 'these host-service globals (kv(bucket), objectStore(bucket), messaging, http) exist only on Nex 0.3: a 0.2 node offers hostServices.kv/objectStore/messaging/http, with one bucket per function', line);
  } else {
    ctx.warn('api-0.2-only', 'hostServices exists on Nex 0.2 nodes only: on 0.3 the API is the globals kv(bucket), objectStore(bucket), messaging and http', line);
  }
}

function summariseArgs(args: Record<string, string>, body?: Uint8Array): Record<string, string> {
  const shown: Record<string, string> = { ...args };
  if (body) {
    shown.value = previewBytes(body, 200);
  }
  return shown;
}

function summariseResult(result: Extract<HostResult, { ok: true }>): string {
  if (result.bytes) {
    return previewBytes(result.bytes, 200);
  }
  if (result.json !== undefined) {
    const text = JSON.stringify(result.json);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }
  return 'ok';
}
