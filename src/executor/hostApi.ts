/**
 * Host services inside QuickJS, per compatibility profile:
 * - docs and 0.2: one global `hostServices` with kv, messaging, objectStore, http;
 * - 0.3: globals `http`, `messaging`, `kv(bucket)`, `objectStore(bucket)`.
 * Calls are synchronous, as on a node; they reach the backend through `SyncHostCaller`. Failures
 * are thrown as plain strings, as nodes throw them, worded per profile.
 */
import { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { callGlobal, isUint8Array, newUint8Array, viewBytes } from './vmValues';
import { locate } from './stackFrames';
import { CompatProfile, defaultBucket } from '../core/compat';
import { previewBytes } from '../core/bytes';
import { HostCall, HostCallRecord, HostResult, HostServiceName, HTTP_METHODS, HttpMethod } from '../hostservices/types';

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

/** What a host call gives back to the function: a value, or a plain string to throw. */
interface CallOutcome {
  code: number;
  error?: string;
  bytes?: Uint8Array;
  json?: unknown;
}

/**
 * Defines the host-service globals of the profile, built from native functions on first access
 * (most runs never touch them, and nothing here compiles JavaScript but a one-line stack probe).
 * Returns a cleanup to call before the context is disposed.
 */
export function installHostApi(vm: QuickJSContext, ctx: HostApiContext): () => void {
  let stackProbe: QuickJSHandle | undefined;
  /** The line of the user's code that made the current host call. */
  const callerLine = (): number | undefined => {
    stackProbe ??= vm.unwrapResult(vm.evalCode('(() => new Error().stack)', HOST_FILE, { type: 'global' }));
    const stack = vm.unwrapResult(vm.callFunction(stackProbe, vm.undefined)).consume((h) => (vm.typeof(h) === 'string' ? vm.getString(h) : ''));
    return locate(stack, ctx.fileName).line;
  };
  const str = (h: QuickJSHandle | undefined): string => (h === undefined ? 'undefined' : vm.typeof(h) === 'string' ? vm.getString(h) : String(vm.dump(h)));
  const toValue = (outcome: CallOutcome, wants: 'bytes' | 'json' | 'none'): QuickJSHandle | { error: QuickJSHandle } => {
    if (outcome.error !== undefined) {
      return { error: vm.newString(outcome.error) };
    }
    if (wants === 'bytes' && outcome.bytes) {
      return newUint8Array(vm, outcome.bytes);
    }
    if (wants === 'json' && outcome.json !== undefined) {
      return vm.newString(JSON.stringify(outcome.json)).consume((text) => vm.unwrapResult(callGlobal(vm, 'JSON', 'parse', text)));
    }
    return vm.undefined;
  };
  /** A value argument: nodes accept only a Uint8Array; the documented contract also takes text here. */
  const body = (h: QuickJSHandle | undefined, what: string, service: string, method: string, line?: number): Uint8Array | string => {
    if (h !== undefined && isUint8Array(vm, h)) {
      return viewBytes(vm, h)!;
    }
    const type = h === undefined ? 'undefined' : vm.typeof(h) === 'object' && vm.sameValue(h, vm.null) ? 'null' : vm.typeof(h);
    if (ctx.profile === 'docs' && type === 'string') {
      ctx.warn('string-argument', `a Nex node accepts only a Uint8Array for ${service}.${method}'s ${what} and throws "failed to marshal v8 value to []byte" for a string`, line);
      return new TextEncoder().encode(vm.getString(h!));
    }
    return `failed to marshal v8 value to []byte: ${what} is ${type}; only Uint8[] is supported`;
  };
  const fn = (target: QuickJSHandle, name: string, impl: (args: QuickJSHandle[], line?: number) => QuickJSHandle | { error: QuickJSHandle }) => {
    vm.newFunction(name, (...args) => impl(args, callerLine())).consume((f) => vm.setProp(target, name, f));
  };
  const call = (service: HostServiceName, method: string, args: Record<string, string>, line: number | undefined, wants: 'bytes' | 'json' | 'none', value?: Uint8Array | string) => {
    if (typeof value === 'string') {
      return { error: vm.newString(value) };
    }
    return toValue(performCall(ctx, service, method, args, value, line), wants);
  };

  const kvObject = (bucket: string): QuickJSHandle => {
    const o = vm.newObject();
    fn(o, 'get', ([key], line) => call('kv', 'get', { bucket, key: str(key) }, line, 'bytes'));
    fn(o, 'set', ([key, value], line) => call('kv', 'set', { bucket, key: str(key) }, line, 'none', body(value, 'value', 'kv', 'set', line)));
    fn(o, 'delete', ([key], line) => call('kv', 'delete', { bucket, key: str(key) }, line, 'none'));
    fn(o, 'keys', (_args, line) => call('kv', 'keys', { bucket }, line, 'json'));
    return o;
  };
  const objectStoreObject = (bucket: string): QuickJSHandle => {
    const o = vm.newObject();
    fn(o, 'get', ([name], line) => call('objectStore', 'get', { bucket, name: str(name) }, line, 'bytes'));
    fn(o, 'put', ([name, value], line) => call('objectStore', 'put', { bucket, name: str(name) }, line, 'json', body(value, 'value', 'objectStore', 'put', line)));
    fn(o, 'delete', ([name], line) => call('objectStore', 'delete', { bucket, name: str(name) }, line, 'none'));
    fn(o, 'list', (_args, line) => call('objectStore', 'list', { bucket }, line, 'json'));
    return o;
  };
  const messagingObject = (): QuickJSHandle => {
    const o = vm.newObject();
    fn(o, 'publish', ([subject, payload], line) => call('messaging', 'publish', { subject: str(subject) }, line, 'none', body(payload, 'payload', 'messaging', 'publish', line)));
    fn(o, 'request', ([subject, payload], line) => call('messaging', 'request', { subject: str(subject) }, line, 'bytes', body(payload, 'payload', 'messaging', 'request', line)));
    fn(o, 'requestMany', ([subject], line) => call('messaging', 'requestMany', { subject: str(subject) }, line, 'none'));
    return o;
  };
  const httpObject = (): QuickJSHandle => {
    const o = vm.newObject();
    for (const method of HTTP_METHODS) {
      fn(o, method, ([url, payload], line) => {
        const withBody = payload !== undefined && vm.typeof(payload) !== 'undefined' && method !== 'get' && method !== 'head';
        return call('http', method, { url: str(url) }, line, 'json', withBody ? body(payload, 'body', 'http', method, line) : undefined);
      });
    }
    return o;
  };
  /** 0.3's kv(bucket) and objectStore(bucket). */
  const bucketFactory = (name: string, make: (bucket: string) => QuickJSHandle): QuickJSHandle =>
    vm.newFunction(name, (bucket) => {
      if (bucket === undefined || vm.typeof(bucket) === 'undefined' || vm.sameValue(bucket, vm.null) || str(bucket) === '') {
        return { error: vm.newString('bucket name is required') };
      }
      return make(str(bucket));
    });

  let built = false;
  const build = () => {
    if (built) {
      return;
    }
    built = true;
    const define = (name: string, value: QuickJSHandle) => {
      vm.defineProp(vm.global, name, { value, configurable: true, enumerable: false });
      value.dispose();
    };
    if (ctx.profile === '0.3') {
      define('http', httpObject());
      define('messaging', messagingObject());
      define('kv', bucketFactory('kv', kvObject));
      define('objectStore', bucketFactory('objectStore', objectStoreObject));
    } else {
      const hostServices = vm.newObject();
      kvObject(defaultBucket(ctx.namespace, ctx.workload, 'kv')).consume((h) => vm.setProp(hostServices, 'kv', h));
      messagingObject().consume((h) => vm.setProp(hostServices, 'messaging', h));
      objectStoreObject(defaultBucket(ctx.namespace, ctx.workload, 'obj')).consume((h) => vm.setProp(hostServices, 'objectStore', h));
      httpObject().consume((h) => vm.setProp(hostServices, 'http', h));
      define('hostServices', hostServices);
    }
  };
  const globals = ctx.profile === '0.3' ? ['http', 'messaging', 'kv', 'objectStore'] : ['hostServices'];
  for (const name of globals) {
    vm.defineProp(vm.global, name, {
      configurable: true,
      enumerable: false,
      get: () => {
        build();
        return vm.getProp(vm.global, name);
      },
    });
  }
  return () => stackProbe?.dispose();
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
