/**
 * A function deployed to the local node: its trigger subscriptions, and each message run through
 * the one run pipeline behind its own worker (serial per workload, as on a real node), with host
 * services from real JetStream. A runaway or crashing function stops only its own worker.
 */
import * as fs from 'fs';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { ValidFunction } from '../core/manifest';
import { WorkerExecutor } from '../executor/workerExecutor';
import { MachineSummary } from '../nex/controlTypes';
import { NatsHostServices } from '../nats/natsHostServices';
import { deployedFunction } from '../run/deployedFunction';
import { runFunction } from '../run/functionRun';
import { AcceptedDeploy } from './deployChecks';
import { compatOf, EmulatedVersion, formatGoDuration, formatUptime } from './nodeConfig';
import { LogSource, NodeEventType } from './nodeEvents';

/** A real node gives JavaScript 5 s, and waits 10 s for any function's answer. */
const V8_TIMEOUT_MS = 5000;
const TRIGGER_TIMEOUT_MS = 10000;

/** What a workload reports back to its node. */
export interface WorkloadSink {
  event(type: NodeEventType, namespace: string, data: Record<string, unknown>): void;
  log(workload: DeployedWorkload, source: LogSource, text: string, nodeLevel?: 'debug' | 'info' | 'warn' | 'error'): void;
}

export interface WorkloadOptions {
  id: string;
  nc: NatsConnection;
  emulate: EmulatedVersion;
  /** Where the artifact is written (a folder of its own, removed on stop). */
  dir: string;
  hostServices: NatsHostServices;
  sink: WorkloadSink;
  executor?: WorkerExecutor;
}

export class DeployedWorkload {
  readonly id: string;
  readonly deployedAt = Date.now();
  /** Total time spent running the function, in nanoseconds (INFO's `runtime`). */
  runtimeNanos = 0;
  /** Triggers handled, and how many failed. */
  runs = 0;
  failures = 0;
  private readonly fn: ValidFunction;
  private readonly executor: WorkerExecutor;
  private readonly subscriptions: Subscription[] = [];
  private stopped = false;

  constructor(
    readonly deploy: AcceptedDeploy,
    private readonly options: WorkloadOptions,
  ) {
    this.id = options.id;
    this.executor = options.executor ?? new WorkerExecutor();
    this.fn = deployedFunction(options.dir, deploy.name, {
      name: deploy.name,
      type: deploy.type,
      description: deploy.description,
      triggers: deploy.triggerSubjects,
      compat: compatOf(options.emulate),
      environment: deploy.environment,
      bytes: deploy.artifact,
    });
  }

  get name(): string {
    return this.deploy.name;
  }

  get namespace(): string {
    return this.deploy.namespace;
  }

  /** Subscribes every trigger subject: 0.2.7 plainly (every copy gets every message); 0.3 in a queue group named after the subject. */
  start(): void {
    for (const trigger of this.deploy.triggerSubjects) {
      const sub = this.options.nc.subscribe(trigger, this.options.emulate === '0.3.0' ? { queue: trigger } : {});
      this.subscriptions.push(sub);
      void this.serve(sub, trigger);
    }
  }

  private async serve(sub: Subscription, trigger: string): Promise<void> {
    for await (const msg of sub) {
      if (this.stopped) {
        break;
      }
      await this.handle(msg, trigger);
    }
  }

  private async handle(msg: Msg, trigger: string): Promise<void> {
    const { sink, emulate } = this.options;
    const v8 = this.deploy.type === 'v8';
    if (v8) {
      sink.log(this, 'workloadInfo', `calling js function via trigger subject: ${msg.subject}`);
    }
    this.runs++;
    const idField = emulate === '0.3.0' ? { workload_id: this.id } : {};
    let error: string | undefined;
    let elapsedNanos = 0;
    try {
      const result = await runFunction(this.executor, this.fn, {
        subject: msg.subject,
        payload: msg.data,
        namespace: this.namespace,
        hostServices: v8 ? this.options.hostServices : undefined,
        limits: { overrides: { timeoutMs: v8 ? V8_TIMEOUT_MS : TRIGGER_TIMEOUT_MS } },
        build: false,
      });
      const o = result.outcome;
      elapsedNanos = Math.round(o.durationMs * 1e6);
      this.runtimeNanos += elapsedNanos;
      for (const line of o.logs) {
        sink.log(this, line.stream === 'stderr' || line.level === 'error' ? 'workloadStderr' : 'workloadStdout', line.text);
      }
      if (o.error) {
        error = o.error.message;
      } else if (o.reply === null) {
        // A node replies only with output: an empty stdout (or no reply) is a failed execution.
        error = v8 ? 'the function returned no reply' : 'the module wrote nothing to stdout';
      } else if (msg.reply) {
        msg.respond(o.reply);
      }
    } catch (e) {
      error = (e as Error).message;
    }
    if (error !== undefined) {
      this.failures++;
      sink.log(this, 'workloadStderr', `failed to execute function on trigger subject ${msg.subject}: ${error}`);
      sink.event('function_exec_failed', this.namespace, { workload_name: this.name, trigger_subject: trigger, namespace: this.namespace, error, ...idField });
    } else {
      // Wasm never sets x-nex-runtime-ns on a real node, so its elapsed_nanos is 0.
      sink.event('function_exec_succeeded', this.namespace, { workload_name: this.name, trigger_subject: trigger, elapsed_nanos: v8 ? elapsedNanos : 0, namespace: this.namespace, ...idField });
    }
  }

  /** INFO's view of the workload. */
  summary(): MachineSummary {
    const summary: MachineSummary = {
      id: this.id,
      healthy: true,
      uptime: formatUptime(Date.now() - this.deployedAt),
      namespace: this.namespace,
      workload: {
        name: this.name,
        description: this.deploy.description,
        runtime: formatGoDuration(this.runtimeNanos),
        type: this.deploy.type,
        hash: this.deploy.hash,
      },
    };
    if (this.options.emulate === '0.3.0') {
      Object.assign(summary.workload, { id: this.id, essential: false, uptime: summary.uptime });
    }
    return summary;
  }

  /** Unsubscribes, stops the worker and removes the artifact. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const sub of this.subscriptions) {
      sub.unsubscribe();
    }
    this.executor.dispose();
    fs.rmSync(this.options.dir, { recursive: true, force: true });
  }
}
