/**
 * The host API a JavaScript function sees, as data, for both engines: which globals each profile
 * defines, which services and methods exist, how many arguments each method takes and of what kind,
 * and what it gives back. QuickJS builds its native functions from it (hostApi.ts); on V8 the
 * prelude builds the function's objects from it inside the function's context (v8Prelude.ts gets it
 * as JSON) and the runner's bridge reads it back for each call (v8Engine.ts). Every call is
 * synchronous, as on a node: it returns its result or throws a plain string.
 */
import { CompatProfile } from '../core/compat';
import { HostServiceName, HTTP_METHODS } from '../hostservices/types';

/** What a call gives back to the function: a Uint8Array, a JSON value, or undefined. */
export type HostResultKind = 'bytes' | 'json' | 'none';

export interface HostMethodSpec {
  name: string;
  /** The string arguments, in order, under the names the call records them by; anything passed is made a string. */
  args: readonly ('key' | 'name' | 'subject' | 'url')[];
  /**
   * The byte argument after them, named as a node names it when it refuses one ("failed to marshal
   * v8 value to []byte: value is …"). It is sent `always` (anything but a Uint8Array fails the
   * call), only when `given` (not undefined), or taken and `ignored` (nodes send no body with GET
   * and HEAD).
   */
  body?: { name: 'value' | 'payload' | 'body'; sent: 'always' | 'given' | 'ignored' };
  result: HostResultKind;
}

export interface HostServiceSpec {
  service: HostServiceName;
  /**
   * The kind of bucket the service's objects are bound to (each call then carries `bucket`): the
   * function's own (`defaultBucket`) in `hostServices`, the one named to the factory (`kv(bucket)`)
   * under 0.3.
   */
  bucket?: 'kv' | 'obj';
  methods: readonly HostMethodSpec[];
}

const bytesArg = (name: 'value' | 'payload'): HostMethodSpec['body'] => ({ name, sent: 'always' });

export const HOST_SERVICES: Readonly<Record<HostServiceName, HostServiceSpec>> = {
  kv: {
    service: 'kv',
    bucket: 'kv',
    methods: [
      { name: 'get', args: ['key'], result: 'bytes' },
      { name: 'set', args: ['key'], body: bytesArg('value'), result: 'none' },
      { name: 'delete', args: ['key'], result: 'none' },
      { name: 'keys', args: [], result: 'json' },
    ],
  },
  objectStore: {
    service: 'objectStore',
    bucket: 'obj',
    methods: [
      { name: 'get', args: ['name'], result: 'bytes' },
      { name: 'put', args: ['name'], body: bytesArg('value'), result: 'json' },
      { name: 'delete', args: ['name'], result: 'none' },
      { name: 'list', args: [], result: 'json' },
    ],
  },
  messaging: {
    service: 'messaging',
    methods: [
      { name: 'publish', args: ['subject'], body: bytesArg('payload'), result: 'none' },
      { name: 'request', args: ['subject'], body: bytesArg('payload'), result: 'bytes' },
      { name: 'requestMany', args: ['subject'], result: 'none' },
    ],
  },
  http: {
    service: 'http',
    methods: HTTP_METHODS.map((m) => ({ name: m, args: ['url'] as const, body: { name: 'body' as const, sent: m === 'get' || m === 'head' ? ('ignored' as const) : ('given' as const) }, result: 'json' as const })),
  },
};

/** The members of the one global `hostServices` (profiles docs and 0.2), in their order; bucketed ones use the function's own bucket. */
export const HOST_SERVICES_MEMBERS: readonly HostServiceName[] = ['kv', 'messaging', 'objectStore', 'http'];
/** The globals of profile 0.3, in the order they are defined: a bucketed service is a factory (`kv(bucket)`), the others an object. */
export const GLOBALS_0_3: readonly HostServiceName[] = ['http', 'messaging', 'kv', 'objectStore'];
/** What 0.3's factories throw without a bucket name. */
export const BUCKET_REQUIRED = 'bucket name is required';

/** The host-service globals a function of the profile has. */
export function hostGlobalNames(profile: CompatProfile): readonly string[] {
  return profile === '0.3' ? GLOBALS_0_3 : ['hostServices'];
}

/** The table as the V8 prelude takes it (one JSON text, parsed inside the function's context). */
export const HOST_API_JSON = JSON.stringify({ services: HOST_SERVICES_MEMBERS.map((s) => HOST_SERVICES[s]), members: HOST_SERVICES_MEMBERS, globals03: GLOBALS_0_3, bucketRequired: BUCKET_REQUIRED });

/** A method of the table by its service's and its own name; undefined for anything else. */
export function hostMethod(service: unknown, method: unknown): { spec: HostServiceSpec; method: HostMethodSpec } | undefined {
  if (typeof service !== 'string' || typeof method !== 'string' || !Object.hasOwn(HOST_SERVICES, service)) {
    return undefined;
  }
  const spec = HOST_SERVICES[service as HostServiceName];
  const found = spec.methods.find((m) => m.name === method);
  return found && { spec, method: found };
}

/**
 * A call's named arguments, as it is recorded and sent: `bucket` (for a bucketed service) then the
 * method's string arguments, from `values` in that order (missing ones empty).
 */
export function callArgs(spec: HostServiceSpec, method: HostMethodSpec, values: readonly string[]): Record<string, string> {
  const names = spec.bucket ? ['bucket', ...method.args] : method.args;
  return Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));
}
