/**
 * Host services against a real NATS server, as a node serves them: KV and object store in
 * JetStream (buckets created on first use with a node's default 512 KiB limit), core NATS
 * publish/request, and HTTP through Node.
 */
import { Kvm, KV } from '@nats-io/kv';
import { ObjectStore, Objm } from '@nats-io/obj';
import type { connect } from '@nats-io/transport-node';
import { realHttp } from '../hostservices/httpClient';
import { fail, HostCall, HostResult, HostServicesBackend, kvKeyProblem, ObjectInfo, ok } from '../hostservices/types';

type NatsConnection = Awaited<ReturnType<typeof connect>>;

/** A node provisions buckets with max_bytes 524288 unless configured otherwise. */
export const DEFAULT_BUCKET_MAX_BYTES = 524288;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export interface NatsHostServicesOptions {
  bucketMaxBytes?: number;
  requestTimeoutMs?: number;
}

export class NatsHostServices implements HostServicesBackend {
  readonly kind: string;
  private readonly kvm: Kvm;
  private readonly objm: Objm;
  private readonly kvs = new Map<string, Promise<KV>>();
  private readonly stores = new Map<string, Promise<ObjectStore>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsHostServicesOptions = {},
  ) {
    this.kind = `nats ${nc.getServer()}`;
    this.kvm = new Kvm(nc);
    this.objm = new Objm(nc);
  }

  async call(call: HostCall): Promise<HostResult> {
    try {
      switch (call.service) {
        case 'kv':
          return await this.kvCall(call);
        case 'objectStore':
          return await this.objectCall(call);
        case 'messaging':
          return await this.messagingCall(call);
        case 'http':
          return ok(undefined, await realHttp(call.method, call.url, call.body));
      }
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      if (/no responders/i.test(message)) {
        return fail(503, 'noResponders', `no responders for the request: ${message}`);
      }
      if (/timeout/i.test(message)) {
        return fail(504, 'timeout', message);
      }
      return fail(500, 'error', message);
    }
  }

  private bucket(name: string): Promise<KV> {
    return openOnce(this.kvs, name, () => this.kvm.create(name, { max_bytes: this.options.bucketMaxBytes ?? DEFAULT_BUCKET_MAX_BYTES }));
  }

  private store(name: string): Promise<ObjectStore> {
    return openOnce(this.stores, name, () => this.objm.create(name, { max_bytes: this.options.bucketMaxBytes ?? DEFAULT_BUCKET_MAX_BYTES }));
  }

  private async kvCall(call: Extract<HostCall, { service: 'kv' }>): Promise<HostResult> {
    const kv = await this.bucket(call.bucket);
    if (call.method === 'keys') {
      const keys: string[] = [];
      for await (const k of await kv.keys()) {
        keys.push(k);
      }
      return ok(undefined, keys);
    }
    const problem = kvKeyProblem(call.key);
    if (problem) {
      return fail(400, 'badRequest', problem);
    }
    switch (call.method) {
      case 'get': {
        const entry = await kv.get(call.key);
        if (!entry || entry.operation !== 'PUT') {
          return fail(404, 'notFound', `key "${call.key}" not found in bucket ${call.bucket}`);
        }
        return ok(entry.value);
      }
      case 'set':
        return ok(undefined, { revision: await kv.put(call.key, call.value), success: true });
      case 'delete':
        await kv.delete(call.key);
        return ok(undefined, { success: true });
    }
  }

  private async objectCall(call: Extract<HostCall, { service: 'objectStore' }>): Promise<HostResult> {
    const store = await this.store(call.bucket);
    if (call.method === 'list') {
      return ok(undefined, (await store.list()).map(toObjectInfo));
    }
    if (!call.name) {
      return fail(400, 'badRequest', 'name is required');
    }
    switch (call.method) {
      case 'get': {
        const data = await store.getBlob(call.name);
        return data ? ok(data) : fail(404, 'notFound', `object "${call.name}" not found in ${call.bucket}`);
      }
      case 'put':
        return ok(undefined, toObjectInfo(await store.putBlob({ name: call.name }, call.value)));
      case 'delete':
        await store.delete(call.name);
        return ok(undefined, { success: true });
    }
  }

  private async messagingCall(call: Extract<HostCall, { service: 'messaging' }>): Promise<HostResult> {
    if (!call.subject) {
      return fail(400, 'badRequest', 'subject is required');
    }
    if (call.method === 'publish') {
      this.nc.publish(call.subject, call.payload);
      await this.nc.flush();
      return ok(undefined, { success: true });
    }
    const reply = await this.nc.request(call.subject, call.payload, { timeout: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
    return ok(reply.data);
  }
}

function toObjectInfo(info: { name: string; bucket: string; nuid: string; size: number; mtime: string; chunks: number; digest: string }): ObjectInfo {
  return { name: info.name, bucket: info.bucket, nuid: info.nuid, size: info.size, mtime: info.mtime, chunks: info.chunks, digest: info.digest };
}

/** Creates (or binds) a bucket once per name; a failed attempt is forgotten, so the next call retries. */
function openOnce<T>(cache: Map<string, Promise<T>>, name: string, open: () => Promise<T>): Promise<T> {
  let opened = cache.get(name);
  if (!opened) {
    opened = open();
    opened.catch(() => cache.delete(name));
    cache.set(name, opened);
  }
  return opened;
}
