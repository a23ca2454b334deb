/**
 * Host services inside QuickJS, per compatibility profile:
 * - docs and 0.2: one global `hostServices` with kv, messaging, objectStore, http;
 * - 0.3: globals `http`, `messaging`, `kv(bucket)`, `objectStore(bucket)`.
 * Calls are synchronous, as on a node; they reach the backend through `SyncHostCaller`. Failures
 * are thrown as plain strings, as nodes throw them, worded per profile.
 */
import { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { CompatProfile, defaultBucket } from '../core/compat';
import { previewBytes } from '../core/bytes';
import { HostCall, HostCallRecord, HostResult, HostServiceName, HTTP_METHODS, HttpMethod } from '../hostservices/types';
import { FidelityWarning } from './fidelity';

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

const HOST_FILE = '<nex-host>';

/** The JavaScript side: argument checks and shapes; `native` does the rest. */
const HOST_API_SOURCE = `(function (native, profile, kvBucket, objBucket) {
  const toBody = (value, what) => {
    if (value instanceof Uint8Array) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
    if (profile === 'docs' && typeof value === 'string') return value;
    throw 'failed to marshal v8 value to []byte: ' + what + ' is ' + (value === null ? 'null' : typeof value) + '; only Uint8[] is supported';
  };
  const call = (service, method, args, body) => {
    const r = native(service, method, JSON.stringify(args), body === undefined ? null : body, new Error().stack);
    if (r[0] !== 200) throw r[1];
    if (r[2] !== null) return new Uint8Array(r[2]);
    if (r[3] !== null) return JSON.parse(r[3]);
    return undefined;
  };
  const none = () => undefined;
  const kvApi = (bucket) => ({
    get: (key) => call('kv', 'get', { bucket, key: String(key) }),
    set: (key, value) => none(call('kv', 'set', { bucket, key: String(key) }, toBody(value, 'value'))),
    delete: (key) => none(call('kv', 'delete', { bucket, key: String(key) })),
    keys: () => call('kv', 'keys', { bucket }),
  });
  const objectApi = (bucket) => ({
    get: (name) => call('objectStore', 'get', { bucket, name: String(name) }),
    put: (name, value) => call('objectStore', 'put', { bucket, name: String(name) }, toBody(value, 'value')),
    delete: (name) => none(call('objectStore', 'delete', { bucket, name: String(name) })),
    list: () => call('objectStore', 'list', { bucket }),
  });
  const messaging = {
    publish: (subject, payload) => none(call('messaging', 'publish', { subject: String(subject) }, toBody(payload, 'payload'))),
    request: (subject, payload) => call('messaging', 'request', { subject: String(subject) }, toBody(payload, 'payload')),
    requestMany: (subject, payload) => call('messaging', 'requestMany', { subject: String(subject) }),
  };
  const http = {};
  for (const method of ${JSON.stringify(HTTP_METHODS)}) {
    http[method] = (url, body) => call('http', method, { url: String(url) }, body === undefined || method === 'get' || method === 'head' ? undefined : toBody(body, 'body'));
  }
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  if (profile === '0.3') {
    const named = (factory) => (bucket) => {
      if (bucket === undefined || bucket === null || bucket === '') throw 'bucket name is required';
      return factory(String(bucket));
    };
    define('http', http);
    define('messaging', messaging);
    define('kv', named(kvApi));
    define('objectStore', named(objectApi));
  } else {
    define('hostServices', { kv: kvApi(kvBucket), messaging, objectStore: objectApi(objBucket), http });
  }
})`;

export function installHostApi(vm: QuickJSContext, ctx: HostApiContext): void {
  const native = vm.newFunction('nexHost', (serviceH, methodH, argsH, bodyH, stackH) => {
    const service = vm.getString(serviceH) as HostServiceName;
    const method = vm.getString(methodH);
    const args = JSON.parse(vm.getString(argsH)) as Record<string, string>;
    const line = lineOf(vm.getString(stackH), ctx.fileName);
    let body: Uint8Array | undefined;
    if (vm.typeof(bodyH) === 'string') {
      body = new TextEncoder().encode(vm.getString(bodyH));
      ctx.warn('string-argument', `a Nex node accepts only a Uint8Array for ${service}.${method}'s value and throws "failed to marshal v8 value to []byte" for a string`, line);
    } else if (vm.typeof(bodyH) === 'object' && vm.dump(bodyH) !== null) {
      body = new Uint8Array(vm.getArrayBuffer(bodyH).consume((b) => b.value.slice()));
    }
    const result = performCall(ctx, service, method, args, body, line);
    return toHandle(vm, result);
  });
  try {
    const factory = vm.unwrapResult(vm.evalCode(HOST_API_SOURCE, HOST_FILE, { type: 'global' }));
    try {
      const args = [native, vm.newString(ctx.profile), vm.newString(defaultBucket(ctx.namespace, ctx.workload, 'kv')), vm.newString(defaultBucket(ctx.namespace, ctx.workload, 'obj'))];
      vm.unwrapResult(vm.callFunction(factory, vm.undefined, ...args)).dispose();
      args.slice(1).forEach((h) => h.dispose());
    } finally {
      factory.dispose();
    }
  } finally {
    native.dispose();
  }
}

/** What the JavaScript side gets back: [code, thrown string, bytes, json]. */
interface CallOutcome {
  code: number;
  error?: string;
  bytes?: Uint8Array;
  json?: unknown;
}

function performCall(ctx: HostApiContext, service: HostServiceName, method: string, args: Record<string, string>, body: Uint8Array | undefined, line?: number): CallOutcome {
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

function toHandle(vm: QuickJSContext, outcome: CallOutcome): QuickJSHandle {
  const arr = vm.newArray();
  const set = (i: number, h: QuickJSHandle) => {
    vm.setProp(arr, i, h);
    h.dispose();
  };
  set(0, vm.newNumber(outcome.code));
  set(1, outcome.error !== undefined ? vm.newString(outcome.error) : vm.null);
  set(2, outcome.bytes ? vm.newArrayBuffer(outcome.bytes.slice().buffer as ArrayBuffer) : vm.null);
  set(3, outcome.json !== undefined ? vm.newString(JSON.stringify(outcome.json)) : vm.null);
  return arr;
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

function lineOf(stack: string, fileName: string): number | undefined {
  for (const frame of stack.split('\n')) {
    const idx = frame.lastIndexOf(fileName + ':');
    if (idx >= 0) {
      const m = /^:(\d+)/.exec(frame.slice(idx + fileName.length));
      if (m) {
        return Number(m[1]);
      }
    }
  }
  return undefined;
}
