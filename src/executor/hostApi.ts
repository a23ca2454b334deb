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
import { defaultBucket } from '../core/compat';
import { HostServiceName, HTTP_METHODS } from '../hostservices/types';
import { CallOutcome, HostApiContext, performCall } from './hostCalls';

export type { HostApiContext, SyncHostCaller } from './hostCalls';

const HOST_FILE = '<nex-host>';

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
