/**
 * In-memory host services for local runs: KV buckets with revision history, object stores,
 * recorded publishes, canned request replies, and canned HTTP routes (real HTTP only when
 * allowed). State can be seeded from and saved to a JSON fixture ("mocks" file).
 */
import { decodeValue, encodeValue, InlineValue } from '../core/valueCodec';
import { createHash, randomBytes } from 'crypto';
import { subjectMatches } from '../core/subject';
import { realHttp } from './httpClient';
import { fail, HostCall, HostResult, HostServicesBackend, HttpMethod, HttpResult, kvKeyProblem, ObjectInfo, ok } from './types';

/** A value in a fixture: text, or {"base64": "..."}, or {"json": any} (see core/valueCodec). */
export type FixtureValue = InlineValue;

export interface MockRoute {
  /** HTTP method, or "*" for any. */
  method: string;
  /** The URL, with "*" matching any characters; or a regular expression written as "/.../". */
  url: string;
  status?: number;
  headers?: Record<string, string>;
  body?: FixtureValue;
}

export interface MockFixture {
  /** Entries of the function's own KV bucket (the one a 0.2 node provisions). */
  kv?: Record<string, FixtureValue>;
  /** Named KV buckets, as 0.3's kv("bucket") uses them. */
  kvBuckets?: Record<string, Record<string, FixtureValue>>;
  /** Objects of the function's own object store. */
  objects?: Record<string, FixtureValue>;
  objectStores?: Record<string, Record<string, FixtureValue>>;
  /** Canned replies for messaging.request: the first whose subject pattern matches answers. */
  requestReplies?: Array<{ subject: string; reply: FixtureValue }>;
  http?: { allowReal?: boolean; routes?: MockRoute[] };
}

export interface KvEntry {
  value: Uint8Array;
  revision: number;
  /** Earlier values, oldest first (deleted entries have value null). */
  history: Array<{ value: Uint8Array | null; revision: number }>;
}

export interface PublishedMessage {
  subject: string;
  payload: Uint8Array;
  time: string;
  /** For requests: the reply, or the failure. */
  reply?: Uint8Array;
  error?: string;
  kind: 'publish' | 'request';
}

function urlMatches(pattern: string, url: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    return new RegExp(pattern.slice(1, -1)).test(url);
  }
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(url);
}

export class MockHostServices implements HostServicesBackend {
  readonly kind = 'mock';
  readonly kv = new Map<string, Map<string, KvEntry>>();
  readonly objects = new Map<string, Map<string, { data: Uint8Array; info: ObjectInfo }>>();
  readonly messages: PublishedMessage[] = [];
  requestReplies: Array<{ subject: string; reply: Uint8Array }> = [];
  routes: MockRoute[] = [];
  allowRealHttp = false;
  private revision = 0;
  /**
   * The history of each deleted key, ending with the delete (value null): a key set again carries it
   * on, as a JetStream KV's history does. Keyed by the bucket's map, so a cleared bucket starts over.
   */
  private readonly deletedHistory = new WeakMap<Map<string, KvEntry>, Map<string, KvEntry['history']>>();

  /**
   * @param defaultKvBucket the bucket fixture "kv" entries go to (hs_<namespace>_<workload>_kv)
   * @param defaultObjectStore likewise for "objects"
   */
  constructor(
    readonly defaultKvBucket = 'hs_default_function_kv',
    readonly defaultObjectStore = 'hs_default_function_obj',
  ) {}

  /** Loads a fixture over the current state. Throws with the field at fault on a malformed fixture. */
  seed(fixture: MockFixture, source = 'mocks'): this {
    const kvBuckets: Record<string, Record<string, FixtureValue>> = { ...(fixture.kvBuckets ?? {}) };
    if (fixture.kv) {
      kvBuckets[this.defaultKvBucket] = { ...(kvBuckets[this.defaultKvBucket] ?? {}), ...fixture.kv };
    }
    for (const [bucket, entries] of Object.entries(kvBuckets)) {
      for (const [key, value] of Object.entries(entries)) {
        const problem = kvKeyProblem(key);
        if (problem) {
          throw new Error(`${source}: kv "${key}": ${problem}`);
        }
        this.kvPut(bucket, key, decodeValue(value, { where: `${source}: kv "${key}"` }));
      }
    }
    const stores: Record<string, Record<string, FixtureValue>> = { ...(fixture.objectStores ?? {}) };
    if (fixture.objects) {
      stores[this.defaultObjectStore] = { ...(stores[this.defaultObjectStore] ?? {}), ...fixture.objects };
    }
    for (const [bucket, entries] of Object.entries(stores)) {
      for (const [name, value] of Object.entries(entries)) {
        this.objectPut(bucket, name, decodeValue(value, { where: `${source}: object "${name}"` }));
      }
    }
    for (const [i, r] of (fixture.requestReplies ?? []).entries()) {
      if (typeof r?.subject !== 'string') {
        throw new Error(`${source}: requestReplies[${i}].subject must be a subject pattern such as "prices.*"`);
      }
      this.requestReplies.push({ subject: r.subject, reply: decodeValue(r.reply, { where: `${source}: requestReplies[${i}].reply` }) });
    }
    for (const [i, route] of (fixture.http?.routes ?? []).entries()) {
      if (typeof route?.url !== 'string' || typeof route?.method !== 'string') {
        throw new Error(`${source}: http.routes[${i}] needs "method" (e.g. "GET" or "*") and "url" (e.g. "https://api.example.com/*")`);
      }
      this.routes.push(route);
    }
    this.allowRealHttp = fixture.http?.allowReal ?? this.allowRealHttp;
    return this;
  }

  /** The current state as a fixture, to save back to the mocks file. */
  toFixture(): MockFixture {
    const kvBuckets: Record<string, Record<string, FixtureValue>> = {};
    for (const [bucket, entries] of this.kv) {
      kvBuckets[bucket] = Object.fromEntries([...entries].map(([k, e]) => [k, encodeValue(e.value)]));
    }
    const objectStores: Record<string, Record<string, FixtureValue>> = {};
    for (const [bucket, entries] of this.objects) {
      objectStores[bucket] = Object.fromEntries([...entries].map(([k, o]) => [k, encodeValue(o.data)]));
    }
    const { [this.defaultKvBucket]: kv, ...otherKv } = kvBuckets;
    const { [this.defaultObjectStore]: objects, ...otherObjects } = objectStores;
    const fixture: MockFixture = {};
    if (kv) fixture.kv = kv;
    if (Object.keys(otherKv).length) fixture.kvBuckets = otherKv;
    if (objects) fixture.objects = objects;
    if (Object.keys(otherObjects).length) fixture.objectStores = otherObjects;
    if (this.requestReplies.length) fixture.requestReplies = this.requestReplies.map((r) => ({ subject: r.subject, reply: encodeValue(r.reply) }));
    if (this.routes.length || this.allowRealHttp) fixture.http = { allowReal: this.allowRealHttp, routes: this.routes };
    return fixture;
  }

  async call(call: HostCall): Promise<HostResult> {
    if (call.service === 'http') {
      return this.http(call.method, call.url, call.body);
    }
    return this.callSync(call);
  }

  /** Everything but real HTTP answers synchronously (used in-process by benchmarks and tests). */
  callSync(call: HostCall): HostResult {
    switch (call.service) {
      case 'kv':
        return this.kvCall(call);
      case 'objectStore':
        return this.objectCall(call);
      case 'messaging':
        return this.messagingCall(call);
      case 'http': {
        const route = this.findRoute(call.method, call.url);
        return route ? ok(undefined, routeResult(call.method, route)) : this.noRoute(call.method, call.url);
      }
    }
  }

  private kvCall(call: Extract<HostCall, { service: 'kv' }>): HostResult {
    const bucket = this.kv.get(call.bucket);
    if (call.method === 'keys') {
      return ok(undefined, bucket ? [...bucket.keys()] : []);
    }
    const problem = kvKeyProblem(call.key);
    if (problem) {
      return fail(400, 'badRequest', problem);
    }
    switch (call.method) {
      case 'get': {
        const entry = bucket?.get(call.key);
        return entry ? ok(entry.value) : fail(404, 'notFound', `key "${call.key}" not found in bucket ${call.bucket}`);
      }
      case 'set': {
        const revision = this.kvPut(call.bucket, call.key, call.value);
        return ok(undefined, { revision, success: true });
      }
      case 'delete': {
        const entry = bucket?.get(call.key);
        if (bucket && entry) {
          const deleted = this.deletedHistory.get(bucket) ?? new Map<string, KvEntry['history']>();
          this.deletedHistory.set(bucket, deleted);
          deleted.set(call.key, [...entry.history, { value: entry.value, revision: entry.revision }, { value: null, revision: ++this.revision }]);
          bucket.delete(call.key);
        }
        return ok(undefined, { success: true });
      }
    }
  }

  kvPut(bucketName: string, key: string, value: Uint8Array): number {
    let bucket = this.kv.get(bucketName);
    if (!bucket) {
      bucket = new Map();
      this.kv.set(bucketName, bucket);
    }
    const revision = ++this.revision;
    const previous = bucket.get(key);
    const history = previous ? [...previous.history, { value: previous.value, revision: previous.revision }] : (this.deletedHistory.get(bucket)?.get(key) ?? []);
    this.deletedHistory.get(bucket)?.delete(key);
    bucket.set(key, { value: value.slice(), revision, history });
    return revision;
  }

  private objectCall(call: Extract<HostCall, { service: 'objectStore' }>): HostResult {
    const store = this.objects.get(call.bucket);
    if (call.method === 'list') {
      return ok(undefined, store ? [...store.values()].map((o) => o.info) : []);
    }
    if (!call.name) {
      return fail(400, 'badRequest', 'name is required');
    }
    switch (call.method) {
      case 'get': {
        const object = store?.get(call.name);
        return object ? ok(object.data) : fail(404, 'notFound', `object "${call.name}" not found in ${call.bucket}`);
      }
      case 'put':
        return ok(undefined, this.objectPut(call.bucket, call.name, call.value));
      case 'delete':
        if (!store?.delete(call.name)) {
          return fail(404, 'notFound', `object "${call.name}" not found in ${call.bucket}`);
        }
        return ok(undefined, { success: true });
    }
  }

  objectPut(bucketName: string, name: string, data: Uint8Array): ObjectInfo {
    let store = this.objects.get(bucketName);
    if (!store) {
      store = new Map();
      this.objects.set(bucketName, store);
    }
    const info: ObjectInfo = {
      name,
      bucket: bucketName,
      nuid: randomBytes(11).toString('hex').toUpperCase(),
      size: data.length,
      mtime: new Date().toISOString(),
      chunks: data.length === 0 ? 0 : Math.ceil(data.length / (128 * 1024)),
      digest: `SHA-256=${createHash('sha256').update(data).digest('base64url')}=`,
    };
    store.set(name, { data: data.slice(), info });
    return info;
  }

  private messagingCall(call: Extract<HostCall, { service: 'messaging' }>): HostResult {
    if (!call.subject) {
      return fail(400, 'badRequest', 'subject is required');
    }
    const time = new Date().toISOString();
    if (call.method === 'publish') {
      this.messages.push({ kind: 'publish', subject: call.subject, payload: call.payload.slice(), time });
      return ok(undefined, { success: true });
    }
    const canned = this.requestReplies.find((r) => subjectMatches(r.subject, call.subject));
    if (!canned) {
      const message = `no responders for request on "${call.subject}": add a canned reply (requestReplies) to the mocks`;
      this.messages.push({ kind: 'request', subject: call.subject, payload: call.payload.slice(), time, error: 'no responders' });
      return fail(503, 'noResponders', message);
    }
    this.messages.push({ kind: 'request', subject: call.subject, payload: call.payload.slice(), time, reply: canned.reply });
    return ok(canned.reply);
  }

  private findRoute(method: HttpMethod, url: string): MockRoute | undefined {
    return this.routes.find((r) => (r.method === '*' || r.method.toLowerCase() === method) && urlMatches(r.url, url));
  }

  private noRoute(method: HttpMethod, url: string): HostResult {
    return fail(502, 'unavailable', `no mock route for ${method.toUpperCase()} ${url}: add one to the mocks (http.routes) or allow real HTTP`);
  }

  private async http(method: HttpMethod, url: string, body?: Uint8Array): Promise<HostResult> {
    const route = this.findRoute(method, url);
    if (route) {
      return ok(undefined, routeResult(method, route));
    }
    if (!this.allowRealHttp) {
      return this.noRoute(method, url);
    }
    try {
      return ok(undefined, await realHttp(method, url, body));
    } catch (e) {
      return fail(500, 'error', `HTTP ${method.toUpperCase()} ${url} failed: ${(e as Error).message}`);
    }
  }
}

function routeResult(method: HttpMethod, route: MockRoute): HttpResult {
  const result: HttpResult = { status: route.status ?? 200, headers: route.headers ?? {} };
  if (method !== 'head') {
    result.response = route.body === undefined ? '' : new TextDecoder().decode(decodeValue(route.body, { where: `route ${route.url}` }));
  }
  return result;
}
