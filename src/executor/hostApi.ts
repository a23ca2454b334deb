/**
 * Host services inside QuickJS, per compatibility profile, as the table in hostApiTable.ts
 * describes them:
 * - docs and 0.2: one global `hostServices` with kv, messaging, objectStore, http;
 * - 0.3: globals `http`, `messaging`, `kv(bucket)`, `objectStore(bucket)`.
 * Calls are synchronous, as on a node; they reach the backend through `SyncHostCaller`. Failures
 * are thrown as plain strings, as nodes throw them, worded per profile.
 */
import { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { callGlobal, isUint8Array, newUint8Array, viewBytes } from './vmValues';
import { locate } from './stackFrames';
import { defaultBucket } from '../core/compat';
import { HostServiceName } from '../hostservices/types';
import { CallOutcome, HostApiContext, performCall } from './hostCalls';
import { BUCKET_REQUIRED, callArgs, GLOBALS_0_3, HOST_SERVICES, HOST_SERVICES_MEMBERS, hostGlobalNames, HostResultKind } from './hostApiTable';

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
  const toValue = (outcome: CallOutcome, wants: HostResultKind): QuickJSHandle | { error: QuickJSHandle } => {
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
  const call = (service: HostServiceName, method: string, args: Record<string, string>, line: number | undefined, wants: HostResultKind, value?: Uint8Array | string) => {
    if (typeof value === 'string') {
      return { error: vm.newString(value) };
    }
    return toValue(performCall(ctx, service, method, args, value, line), wants);
  };

  /** An object of the service's methods (hostApiTable.ts), bound to `bucket` when the service has buckets. */
  const serviceObject = (service: HostServiceName, bucket?: string): QuickJSHandle => {
    const spec = HOST_SERVICES[service];
    const o = vm.newObject();
    for (const method of spec.methods) {
      fn(o, method.name, (args, line) => {
        const strings = method.args.map((_name, i) => str(args[i]));
        const given = args[method.args.length];
        const sent = method.body?.sent;
        const withBody = sent === 'always' || (sent === 'given' && given !== undefined && vm.typeof(given) !== 'undefined');
        const value = withBody ? body(given, method.body!.name, service, method.name, line) : undefined;
        return call(service, method.name, callArgs(spec, method, bucket === undefined ? strings : [bucket, ...strings]), line, method.result, value);
      });
    }
    return o;
  };
  /** 0.3's kv(bucket) and objectStore(bucket). */
  const bucketFactory = (service: HostServiceName): QuickJSHandle =>
    vm.newFunction(service, (bucket) => {
      if (bucket === undefined || vm.typeof(bucket) === 'undefined' || vm.sameValue(bucket, vm.null) || str(bucket) === '') {
        return { error: vm.newString(BUCKET_REQUIRED) };
      }
      return serviceObject(service, str(bucket));
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
      for (const service of GLOBALS_0_3) {
        define(service, HOST_SERVICES[service].bucket ? bucketFactory(service) : serviceObject(service));
      }
    } else {
      const hostServices = vm.newObject();
      for (const service of HOST_SERVICES_MEMBERS) {
        const kind = HOST_SERVICES[service].bucket;
        serviceObject(service, kind && defaultBucket(ctx.namespace, ctx.workload, kind)).consume((h) => vm.setProp(hostServices, service, h));
      }
      define('hostServices', hostServices);
    }
  };
  for (const name of hostGlobalNames(ctx.profile)) {
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
