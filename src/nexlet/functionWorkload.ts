/**
 * One function running on the functions nexlet: started from a node's STARTWORKLOAD (its start
 * request checked against the schema, its artifact fetched with the workload's own credentials and
 * checked against its SHA-256, a JavaScript source checked as a node would), it subscribes its
 * trigger subjects in a queue group named after the workload, so several instances share the load,
 * runs each message on this extension's executors (JavaScript on QuickJS unless the operator allowed
 * V8), replies with the runner's headers, and publishes its logs, an event per trigger and its
 * metrics on the 0.4 feeds.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import type { KeyPair } from '@nats-io/nkeys';
import { NODE_JS_SOURCE_LIMIT, defaultBucket } from '../core/compat';
import { lazy } from '../core/lazy';
import type { ValidFunction } from '../core/manifest';
import { WorkerExecutor } from '../executor/workerExecutor';
import { checkJsSource } from '../executor/sourceCheck';
import type { HostCall, HostServicesBackend } from '../hostservices/types';
import { connectWithData } from '../nats/connectionData';
import { NatsHostServices } from '../nats/natsHostServices';
import { openEnvironment } from '../nex/xkeyEnvelope';
import { formatGoDuration } from '../nex/uptime';
import { FUNCTION_START_REQUEST_SCHEMA, type FunctionStartRequest } from '../nex04/functionStartRequest';
import { feed04 } from '../nex04/subjects';
import type { ConnectionData, StartWorkloadRequest, WorkloadSummary } from '../nex04/types';
import { deployedFunction } from '../run/deployedFunction';
import { runFunction } from '../run/functionRun';

/** The function types the nexlet registers: the manifest's `type`. */
export type FunctionType = 'v8' | 'wasm';

/** A JavaScript function gets 5 s by default and a WebAssembly one 10 s, as on a Nex node. */
const DEFAULT_TIMEOUT_MS: Record<FunctionType, number> = { v8: 5000, wasm: 10000 };
/** Metrics go out at most this often per workload. */
const METRICS_INTERVAL_MS = 1000;

/** Compiled on the first start request, not as the module loads. */
const startRequestValidator = lazy(() => new Ajv({ allErrors: true, strict: false }).compile(FUNCTION_START_REQUEST_SCHEMA));

/** What a start request's problems are, in one line: "/triggers must NOT have fewer than 1 items; …". */
function schemaProblems(): string {
  return (startRequestValidator().errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}

/** A start request the nexlet cannot run: the message says why, for the node's user. */
export class StartRefusedError extends Error {
  override name = 'StartRefusedError';
}

/** Parses and checks a `run_request` against the start request schema. */
export function parseStartRequest(runRequest: string): FunctionStartRequest {
  let value: unknown;
  try {
    value = JSON.parse(runRequest);
  } catch (e) {
    throw new StartRefusedError(`the run_request is not JSON: ${(e as Error).message}`);
  }
  if (!startRequestValidator()(value)) {
    throw new StartRefusedError(`the run_request does not match the functions nexlet's start request schema: ${schemaProblems()}`);
  }
  return value as FunctionStartRequest;
}

/** The host services a function sees, with its own KV bucket and object store renamed as its start request says. */
class RenamedBuckets implements HostServicesBackend {
  readonly kind: string;
  constructor(
    private readonly inner: HostServicesBackend,
    private readonly renames: ReadonlyMap<string, string>,
  ) {
    this.kind = inner.kind;
  }
  call(call: HostCall): ReturnType<HostServicesBackend['call']> {
    if ((call.service === 'kv' || call.service === 'objectStore') && this.renames.has(call.bucket)) {
      return this.inner.call({ ...call, bucket: this.renames.get(call.bucket)! } as HostCall);
    }
    return this.inner.call(call);
  }
}

/** What a workload needs from its nexlet. */
export interface WorkloadContext {
  type: FunctionType;
  /** Run JavaScript on V8 (not a sandbox) instead of QuickJS. */
  allowV8: boolean;
  /** The nexlet's curve key pair: sealed environments are opened with it. */
  xkey: KeyPair;
  /** The node it registered with: put in every summary, so a client can tell which node a WPING answer came from. */
  nodeId: string;
  log: (level: 'info' | 'warn' | 'error', text: string) => void;
}

/** Counts and durations of a workload's triggers, as the metrics feed carries them. */
export interface WorkloadMetrics {
  id: string;
  namespace: string;
  name: string;
  triggers: number;
  failures: number;
  total_ms: number;
  max_ms: number;
  last_ms: number;
}

export class FunctionWorkload {
  readonly startedAt = new Date();
  private readonly subscriptions: Subscription[] = [];
  /** The loops serving the subscriptions: a stop waits for them to handle what was delivered. */
  private readonly serving: Promise<void>[] = [];
  private readonly executor: WorkerExecutor;
  private stopped = false;
  private runtimeNanos = 0;
  private readonly metrics: WorkloadMetrics;
  private metricsTimer?: ReturnType<typeof setTimeout>;
  private lastMetricsAt = 0;

  private constructor(
    readonly id: string,
    readonly request: StartWorkloadRequest,
    readonly start: FunctionStartRequest,
    private readonly fn: ValidFunction,
    private readonly nc: NatsConnection,
    private readonly dir: string,
    private readonly context: WorkloadContext,
  ) {
    this.executor = new WorkerExecutor();
    this.metrics = { id, namespace: request.namespace, name: request.name, triggers: 0, failures: 0, total_ms: 0, max_ms: 0, last_ms: 0 };
  }

  get name(): string {
    return this.request.name;
  }

  get namespace(): string {
    return this.request.namespace;
  }

  /**
   * Starts the workload `id` of a STARTWORKLOAD: throws StartRefusedError with what is wrong (the
   * start request, the artifact, the source), leaving nothing behind.
   */
  static async launch(id: string, request: StartWorkloadRequest, creds: ConnectionData, context: WorkloadContext): Promise<FunctionWorkload> {
    if (request.workload_lifecycle !== 'function') {
      throw new StartRefusedError(`the functions nexlet runs the lifecycle "function" only, not "${request.workload_lifecycle}"`);
    }
    const start = parseStartRequest(request.run_request);
    const environment = FunctionWorkload.environment(start, context);
    let nc: NatsConnection;
    try {
      nc = await connectWithData(creds, `nexfn-workload-${request.name}`);
    } catch (e) {
      throw new StartRefusedError(`cannot connect with the workload's credentials: ${(e as Error).message}`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nexfn-nexlet-${id}-`));
    try {
      const bytes = await FunctionWorkload.fetchArtifact(nc, start);
      const fn = FunctionWorkload.functionOf(request, start, context.type, environment, dir, bytes);
      const workload = new FunctionWorkload(id, request, start, fn, nc, dir, context);
      await workload.checkSource(bytes);
      workload.subscribe();
      return workload;
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      await nc.close().catch(() => undefined);
      throw e instanceof StartRefusedError ? e : new StartRefusedError((e as Error).message);
    }
  }

  /** The plain or sealed environment (a sealed one opened with the nexlet's xkey). */
  private static environment(start: FunctionStartRequest, context: WorkloadContext): Record<string, string> {
    const sealed = start.sealed_environment;
    if (!sealed) {
      return { ...(start.environment ?? {}) };
    }
    try {
      return { ...(start.environment ?? {}), ...openEnvironment(sealed.data, context.xkey, sealed.sender_xkey) };
    } catch (e) {
      throw new StartRefusedError(`the sealed environment cannot be opened with this nexlet's xkey: ${(e as Error).message}`);
    }
  }

  private static async fetchArtifact(nc: NatsConnection, start: FunctionStartRequest): Promise<Uint8Array> {
    const { bucket, key, sha256, js_domain } = start.artifact;
    let bytes: Uint8Array | null;
    try {
      const store = await new Objm(jetstream(nc, js_domain ? { domain: js_domain } : {})).open(bucket);
      bytes = await store.getBlob(key);
    } catch (e) {
      throw new StartRefusedError(`cannot read the artifact ${bucket}/${key}: ${(e as Error).message}`);
    }
    if (!bytes) {
      throw new StartRefusedError(`the artifact ${bucket}/${key} does not exist`);
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new StartRefusedError(`the artifact ${bucket}/${key} has the SHA-256 ${actual}, not the ${sha256} of the start request`);
    }
    return bytes;
  }

  /** The function as the run pipeline takes it: its file written to the workload's folder. */
  private static functionOf(request: StartWorkloadRequest, start: FunctionStartRequest, type: FunctionType, env: Record<string, string>, dir: string, bytes: Uint8Array): ValidFunction {
    return deployedFunction(dir, 'function', {
      name: request.name,
      type,
      description: request.description,
      triggers: start.triggers,
      compat: start.compat ?? 'docs',
      environment: env,
      ...(start.limits?.memory_mib ? { limits: { memoryMiB: start.limits.memory_mib } } : {}),
      bytes,
    });
  }

  /** A JavaScript source as a node checks it: at most 12,288 bytes, a function as its last expression. */
  private async checkSource(bytes: Uint8Array): Promise<void> {
    if (this.context.type !== 'v8') {
      return;
    }
    if (bytes.length > NODE_JS_SOURCE_LIMIT) {
      throw new StartRefusedError(`source file (${bytes.length} bytes) exceeds maximum of ${NODE_JS_SOURCE_LIMIT} bytes`);
    }
    const problems = await checkJsSource(this.executor, new TextDecoder().decode(bytes), this.fn.sourcePath!, this.fn.manifest.compat);
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) {
      throw new StartRefusedError(`failed to compile source for execution: ${errors.map((p) => `${p.message} (line ${p.line})`).join('; ')}`);
    }
  }

  /** Every trigger subject, in a queue group named after the workload: its instances share the messages. */
  private subscribe(): void {
    for (const trigger of this.start.triggers) {
      const sub = this.nc.subscribe(trigger, { queue: this.name });
      this.subscriptions.push(sub);
      this.serving.push(this.serve(sub).catch((e: Error) => this.context.log('error', `${this.name} (${this.id}): ${e.message}`)));
    }
  }

  private async serve(sub: Subscription): Promise<void> {
    // Every message delivered is handled, also while a stop drains the subscription.
    for await (const msg of sub) {
      await this.handle(msg);
    }
  }

  private hostServicesBackend?: HostServicesBackend;

  /** One backend for the workload's life: its buckets are opened (or made) once. */
  private hostServices(): HostServicesBackend {
    this.hostServicesBackend ??= this.makeHostServices();
    return this.hostServicesBackend;
  }

  private makeHostServices(): HostServicesBackend {
    const backend = new NatsHostServices(this.nc);
    const own = this.start.host_services;
    const renames = new Map<string, string>();
    if (own?.kv_bucket) {
      renames.set(defaultBucket(this.namespace, this.name, 'kv'), own.kv_bucket);
    }
    if (own?.object_store) {
      renames.set(defaultBucket(this.namespace, this.name, 'obj'), own.object_store);
    }
    return renames.size > 0 ? new RenamedBuckets(backend, renames) : backend;
  }

  private async handle(msg: Msg): Promise<void> {
    const type = this.context.type;
    let error: string | undefined;
    let reply: Uint8Array | null = null;
    let durationMs = 0;
    try {
      const result = await runFunction(this.executor, this.fn, {
        subject: msg.subject,
        payload: msg.data,
        namespace: this.namespace,
        engine: this.context.allowV8 ? 'v8' : 'quickjs',
        hostServices: type === 'v8' ? this.hostServices() : undefined,
        limits: { overrides: { timeoutMs: this.start.limits?.timeout_ms ?? DEFAULT_TIMEOUT_MS[type] } },
        build: false,
      });
      const o = result.outcome;
      durationMs = o.durationMs;
      for (const line of o.logs) {
        this.nc.publish(feed04.logs(this.namespace, this.id, line.stream === 'stderr' || line.level === 'error' ? 'stderr' : 'stdout'), line.text);
      }
      if (o.error) {
        error = o.error.message;
      } else {
        reply = o.reply;
      }
    } catch (e) {
      error = (e as Error).message;
    }
    this.runtimeNanos += Math.round(durationMs * 1e6);
    if (msg.reply) {
      const h = natsHeaders();
      h.set('workload_id', this.id);
      h.set('namespace', this.namespace);
      if (error !== undefined) {
        h.set('error', error);
      }
      msg.respond(reply ?? new Uint8Array(), { headers: h });
    }
    if (error !== undefined) {
      this.nc.publish(feed04.logs(this.namespace, this.id, 'stderr'), `failed to execute function on trigger subject ${msg.subject}: ${error}`);
    }
    // 0.4.1 cannot publish its trigger event (no String() on WorkloadTriggeredEvent): this one can.
    this.nc.publish(
      feed04.event(this.namespace, 'FUNCTIONTRIGGERED'),
      JSON.stringify({ id: this.id, namespace: this.namespace, name: this.name, subject: msg.subject, duration_ms: Math.round(durationMs * 1000) / 1000, ...(error !== undefined ? { error } : {}) }),
    );
    this.count(durationMs, error !== undefined);
  }

  private count(durationMs: number, failed: boolean): void {
    const m = this.metrics;
    m.triggers++;
    m.failures += failed ? 1 : 0;
    m.total_ms += durationMs;
    m.max_ms = Math.max(m.max_ms, durationMs);
    m.last_ms = durationMs;
    if (this.metricsTimer) {
      return;
    }
    const wait = Math.max(0, this.lastMetricsAt + METRICS_INTERVAL_MS - Date.now());
    this.metricsTimer = setTimeout(() => {
      this.metricsTimer = undefined;
      this.lastMetricsAt = Date.now();
      if (!this.stopped) {
        this.nc.publish(feed04.metrics(this.namespace, this.id), JSON.stringify(this.metrics));
      }
    }, wait);
  }

  /** What QueryWorkloads lists: lifecycle `function`, and the function's name, namespace, node, artifact hash and triggers in `metadata` (strings only). */
  summary(): WorkloadSummary {
    return {
      id: this.id,
      metadata: { name: this.name, namespace: this.namespace, node: this.context.nodeId, sha256: this.start.artifact.sha256, triggers: this.start.triggers.join(','), type: this.context.type },
      name: this.name,
      runtime: formatGoDuration(this.runtimeNanos),
      start_time: this.startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      tags: this.request.tags ?? null,
      workload_lifecycle: 'function',
      workload_state: this.stopped ? 'stopped' : 'running',
      workload_type: this.context.type,
    };
  }

  /** The counts so far (tests and the metrics feed). */
  get counts(): Readonly<WorkloadMetrics> {
    return this.metrics;
  }

  /**
   * Drains the triggers (the server sends no more; what it already sent is still handled, so a
   * redeploy that stops this instance while a new one runs in its queue group loses no request),
   * then stops the engine, closes the workload's connection and removes its files.
   */
  async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    await Promise.all(
      this.subscriptions.map((sub) =>
        sub.drain().catch(() => {
          try {
            sub.unsubscribe();
          } catch {
            // the connection is closed: so is the subscription
          }
        }),
      ),
    );
    await Promise.all(this.serving);
    clearTimeout(this.metricsTimer);
    this.executor.dispose();
    await this.nc.drain().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
