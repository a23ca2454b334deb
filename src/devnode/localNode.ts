/**
 * The local Nex node: answers the Nex control API (PING, AUCTION, WPING, INFO, DEPLOY, STOP,
 * LAMEDUCK under `$NEX`) on a real NATS connection as a node of the emulated version does, runs
 * the functions deployed to it with this project's executors, and publishes its events and logs.
 * Deployed workloads do not survive a restart of the node, as on a real node.
 */
import * as os from 'os';
import * as path from 'path';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { WorkerExecutor } from '../executor/workerExecutor';
import { checkJsSource } from '../executor/sourceCheck';
import { ENVELOPE_TYPES, failureEnvelope, goJson, namespaceOf, nodeSubscriptions, successEnvelope } from '../nex/controlApi';
import { AuctionRequest, InfoResponse, LameDuckResponse, PingResponse, RunResponse, StopResponse, WorkloadPingResponse } from '../nex/controlTypes';
import { decodeWorkloadJwt } from '../nex/workloadJwt';
import { NatsHostServices } from '../nats/natsHostServices';
import { checkDeploy, DeployRefused } from './deployChecks';
import { DeployedWorkload, WorkloadSink } from './deployedWorkload';
import { defaultNodeConfig, formatUptime, NodeConfig, protocolOf } from './nodeConfig';
import { cloudEvent, eventSubject, logLine, LogSource, NodeEventType, SYSTEM_NAMESPACE } from './nodeEvents';
import { LogBody, logSubject } from '../nex/logs';
import { loadOrCreateIdentity, NodeIdentity } from './nodeIdentity';
import { newWorkloadId } from './workloadId';

export type NodeLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LocalNodeOptions {
  /** The node's NATS connection: control API, triggers and host services. */
  nc: NatsConnection;
  /** Where the identity and deployed artifacts are kept. */
  stateDir: string;
  config?: Partial<NodeConfig>;
  /** The node's own log lines (deploys, triggers, stops, problems). */
  log?: (level: NodeLogLevel, text: string) => void;
}

/** What the node tells its owner (status bar, CLI) when its workloads change. */
export type NodeListener = (node: LocalNexNode) => void;

/** Whether an AUCTION body has a field of a kind Go's json.Unmarshal would not take into AuctionRequest. */
function auctionKindsWrong(r: Record<string, unknown>): boolean {
  const isString = (v: unknown) => v === undefined || v === null || typeof v === 'string';
  const tags = r.tags;
  const types = r.workload_types;
  return (
    !isString(r.arch) ||
    !isString(r.os) ||
    (r.sandboxed !== undefined && r.sandboxed !== null && typeof r.sandboxed !== 'boolean') ||
    (tags !== undefined && tags !== null && (typeof tags !== 'object' || Array.isArray(tags) || !Object.values(tags).every((v) => typeof v === 'string'))) ||
    (types !== undefined && types !== null && (!Array.isArray(types) || !types.every((t) => typeof t === 'string')))
  );
}

export class LocalNexNode {
  readonly identity: NodeIdentity;
  readonly config: NodeConfig;
  readonly startedAt = Date.now();
  private readonly nc: NatsConnection;
  private readonly stateDir: string;
  private readonly log: (level: NodeLogLevel, text: string) => void;
  private readonly subscriptions: Subscription[] = [];
  private readonly running = new Map<string, DeployedWorkload>();
  private readonly hostServices: NatsHostServices;
  /** Compiles JavaScript for deploy checks; separate from the workloads' own workers. */
  private readonly checkRunner = new WorkerExecutor();
  private readonly listeners = new Set<NodeListener>();
  private heartbeat?: ReturnType<typeof setInterval>;
  private lameDuck = false;
  private stopped = false;

  private constructor(options: LocalNodeOptions) {
    this.nc = options.nc;
    this.stateDir = options.stateDir;
    this.config = defaultNodeConfig(options.config);
    this.log = options.log ?? (() => undefined);
    this.identity = loadOrCreateIdentity(options.stateDir);
    this.hostServices = new NatsHostServices(options.nc);
  }

  /** Starts a node on a connection: subscribes the control API and announces itself. */
  static async start(options: LocalNodeOptions): Promise<LocalNexNode> {
    const node = new LocalNexNode(options);
    await node.listen();
    return node;
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  get version(): string {
    return this.config.emulate;
  }

  get workloads(): readonly DeployedWorkload[] {
    return [...this.running.values()];
  }

  get isLameDuck(): boolean {
    return this.lameDuck;
  }

  /** Calls `listener` whenever workloads are deployed or stopped; returns a function that removes it. */
  onDidChange(listener: NodeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The node's tags: its own, then the configured ones. */
  tags(): Record<string, string> {
    return {
      'nex.arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
      'nex.cpucount': String(os.cpus().length),
      'nex.os': process.platform === 'win32' ? 'windows' : process.platform,
      'nex.local': 'true',
      node_name: this.config.nodeName,
      ...(this.lameDuck ? { 'nex.lameduck': 'true' } : {}),
      ...this.config.tags,
    };
  }

  private async listen(): Promise<void> {
    const subjects = nodeSubscriptions(this.nodeId);
    const handlers: Array<[string, (msg: Msg) => void | Promise<void>]> = [
      [subjects.pingAll, (m) => this.answerPing(m)],
      [subjects.pingNode, (m) => this.answerPing(m)],
      [subjects.auction, (m) => this.answerAuction(m)],
      [subjects.workloadPing, (m) => this.answerWorkloadPing(m)],
      [subjects.info, (m) => this.answerInfo(m)],
      [subjects.deploy, (m) => this.answerDeploy(m)],
      [subjects.stop, (m) => this.answerStop(m)],
      [subjects.lameDuck, (m) => this.answerLameDuck(m)],
    ];
    for (const [subject, handler] of handlers) {
      this.subscriptions.push(
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) {
              this.log('error', `subscription ${subject}: ${err.message}`);
              return;
            }
            // Called in a promise, so a handler that throws at once (a hostile body) is logged here:
            // a throw that reached the NATS client would close its reader, and the node would go deaf.
            Promise.resolve()
              .then(() => handler(msg))
              .catch((e: Error) => this.log('error', `${msg.subject}: ${e.stack ?? e.message}`));
          },
        }),
      );
    }
    await this.nc.flush();
    this.publishEvent('node_started', SYSTEM_NAMESPACE, { version: this.version, id: this.nodeId, tags: this.tags(), ...(this.config.emulate === '0.3.0' ? { public_xkey: this.identity.publicXKey } : {}) });
    this.heartbeat = setInterval(() => this.publishEvent('heartbeat', SYSTEM_NAMESPACE, this.heartbeatData()), this.config.heartbeatMs);
    this.heartbeat.unref?.();
    this.log('info', `local Nex node ${this.nodeId} (emulating ${this.version}) awaiting commands on ${this.nc.getServer()}; xkey ${this.identity.publicXKey}`);
  }

  private heartbeatData(): Record<string, unknown> {
    return {
      version: this.version,
      node_id: this.nodeId,
      nexus: this.config.nexus,
      uptime: formatUptime(Date.now() - this.startedAt),
      tags: this.tags(),
      running_machines: this.running.size,
      ...(this.config.emulate === '0.3.0' ? { allow_duplicate_workloads: true, public_xkey: this.identity.publicXKey } : {}),
    };
  }

  private respond(msg: Msg, body: unknown): void {
    if (msg.reply) {
      msg.respond(goJson(body));
    }
  }

  private pingResponse(): PingResponse {
    return {
      node_id: this.nodeId,
      nexus: this.config.nexus,
      version: this.version,
      uptime: formatUptime(Date.now() - this.startedAt),
      target_xkey: this.identity.publicXKey,
      tags: this.tags(),
      running_machines: this.running.size,
    };
  }

  private answerPing(msg: Msg): void {
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.ping, this.pingResponse()));
  }

  /** Answers only when every filter given matches (a body that is not JSON means no filter). */
  private answerAuction(msg: Msg): void {
    let request: AuctionRequest = {};
    try {
      const parsed = JSON.parse(new TextDecoder().decode(msg.data)) as AuctionRequest | null;
      if (parsed === null) {
        this.log('warn', 'an AUCTION body of JSON null crashes a real 0.2.7 node; answered as "no filter"');
      } else if (typeof parsed === 'object' && !auctionKindsWrong(parsed as Record<string, unknown>)) {
        // Go's json.Unmarshal fails on a field of the wrong kind, and a body that does not decode means no filter.
        request = parsed;
      }
    } catch {
      request = {};
    }
    const tags = this.tags();
    const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
    const matches =
      (!request.arch || same(request.arch, tags['nex.arch'])) &&
      (!request.os || same(request.os, tags['nex.os'])) &&
      // The local node runs functions without a sandbox.
      (request.sandboxed === undefined || request.sandboxed === false) &&
      Object.entries(request.tags ?? {}).every(([k, v]) => tags[k] === v) &&
      (request.workload_types ?? []).every((t) => this.config.workloadTypes.includes(t));
    if (matches) {
      this.respond(msg, successEnvelope(ENVELOPE_TYPES.auction, this.pingResponse()));
    }
  }

  /** `$NEX.WPING.<ns>[.<workload id or name>]`: answers only when some workload matches. */
  private answerWorkloadPing(msg: Msg): void {
    const tokens = msg.subject.split('.');
    const namespace = tokens[2];
    const wanted = tokens.slice(3).join('.');
    const machines = this.workloads.filter((w) => (!namespace || w.namespace === namespace) && (!wanted || w.id === wanted || w.name.toLowerCase() === wanted.toLowerCase()));
    if (machines.length === 0) {
      return;
    }
    const response: WorkloadPingResponse = {
      node_id: this.nodeId,
      target_xkey: this.identity.publicXKey,
      version: this.version,
      tags: this.tags(),
      uptime: formatUptime(Date.now() - this.startedAt),
      running_machines: machines.map((w) => ({ id: w.id, namespace: w.namespace, name: w.name, type: w.deploy.type })),
    };
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.ping, response));
  }

  private answerInfo(msg: Msg): void {
    const namespace = namespaceOf(msg.subject);
    const kb = (bytes: number) => Math.round(bytes / 1024);
    const response: InfoResponse = {
      version: this.version,
      uptime: formatUptime(Date.now() - this.startedAt),
      public_xkey: this.identity.publicXKey,
      tags: this.tags(),
      memory: { total: kb(os.totalmem()), free: kb(os.freemem()), available: kb(os.freemem()) },
      machines: this.workloads.filter((w) => w.namespace === namespace).map((w) => w.summary()),
      supported_workload_types: this.config.workloadTypes,
      ...(this.config.emulate === '0.3.0' ? { available_agents: 1, allow_duplicate_workloads: true } : {}),
    };
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.info, response));
  }

  private async answerDeploy(msg: Msg): Promise<void> {
    let accepted;
    try {
      accepted = await checkDeploy(msg.subject, msg.data, {
        config: this.config,
        identity: this.identity,
        nc: this.nc,
        lameDuck: this.lameDuck,
        workloadCount: this.running.size,
        totalBytes: this.workloads.reduce((n, w) => n + w.deploy.artifact.length, 0),
        compileJs: (source, name) => this.compileJs(source, name),
        note: (text) => this.log('warn', text),
      });
    } catch (e) {
      const reason = e instanceof DeployRefused ? e.message : `Failed to deploy workload: ${(e as Error).message}`;
      this.log('warn', `deploy refused on ${msg.subject}: ${reason}`);
      this.respond(msg, failureEnvelope(ENVELOPE_TYPES.run, reason));
      return;
    }
    const id = newWorkloadId();
    const workload = new DeployedWorkload(accepted, {
      id,
      nc: this.nc,
      emulate: this.config.emulate,
      dir: path.join(this.stateDir, 'workloads', id),
      hostServices: this.hostServices,
      sink: this.workloadSink,
    });
    try {
      workload.start();
      await this.nc.flush();
    } catch (e) {
      await workload.stop();
      this.respond(msg, failureEnvelope(ENVELOPE_TYPES.run, `Failed to deploy workload: ${(e as Error).message}`));
      return;
    }
    this.running.set(id, workload);
    const deployedData =
      this.config.emulate === '0.3.0'
        ? { code: 0, workload_id: id, workload_name: accepted.name, essential: false, total_bytes: accepted.artifact.length }
        : { workload_name: accepted.name, code: 0 };
    this.publishEvent('workload_deployed', accepted.namespace, deployedData, { agent: id });
    this.log('info', `deployed ${accepted.type} function ${accepted.name} (${id}) in ${accepted.namespace}, triggered by ${accepted.triggerSubjects.join(', ')}`);
    const response: RunResponse = { started: true, id, issuer: accepted.claims.iss, name: accepted.name };
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.run, response));
    this.changed();
  }

  /** A real agent compiles JavaScript as a classic script at deploy; only a syntax error refuses the deploy. */
  private async compileJs(source: string, name: string): Promise<string | undefined> {
    const problems = await checkJsSource(this.checkRunner, source, `${name}.js`, protocolOf(this.config.emulate) === '0.3' ? '0.3' : '0.2');
    const syntax = problems.find((p) => p.code === 'syntax' || p.code === 'module-syntax');
    if (!syntax) {
      return undefined;
    }
    return syntax.code === 'module-syntax' ? 'SyntaxError: Cannot use import statement outside a module' : syntax.message;
  }

  private async answerStop(msg: Msg): Promise<void> {
    const fail = (reason: string) => {
      this.log('warn', `stop refused on ${msg.subject}: ${reason}`);
      this.respond(msg, failureEnvelope(ENVELOPE_TYPES.stop, reason));
    };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
      if (!body || typeof body !== 'object') {
        throw new Error('the body is not a JSON object');
      }
    } catch (e) {
      return fail(`Unable to deserialize stop request: ${(e as Error).message}`);
    }
    const workload = this.running.get(String(body.workload_id ?? ''));
    if (!workload) {
      return fail('No such workload');
    }
    let claims;
    try {
      claims = decodeWorkloadJwt(String(body.workload_jwt ?? ''));
    } catch (e) {
      return fail(`Invalid stop request: ${(e as Error).message}`);
    }
    const deployed = workload.deploy.claims;
    if (claims.jti === deployed.jti || claims.iat === deployed.iat) {
      return fail('Invalid stop request: stop claims appear to be cloned or captured from the deploy claims (send a new JWT, at least one second after the deploy)');
    }
    if (claims.iss !== deployed.iss) {
      return fail('Invalid stop request: the only entity allowed to terminate a workload is the issuer that originally started it');
    }
    if (this.config.emulate === '0.2.7' && claims.sub !== deployed.sub) {
      return fail(`Invalid stop request: the stop claims' subject (${claims.sub}) is not the workload's (${deployed.sub})`);
    }
    if (workload.namespace !== namespaceOf(msg.subject)) {
      return fail('No such workload');
    }
    await this.stopWorkload(workload, 'Workload undeploy requested');
    const response: StopResponse = this.config.emulate === '0.3.0' ? { id: workload.id, issuer: deployed.iss, stopped: true } : { stopped: true, id: workload.id, issuer: deployed.iss, name: workload.name };
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.stop, response));
  }

  private async stopWorkload(workload: DeployedWorkload, reason: string): Promise<void> {
    this.running.delete(workload.id);
    await workload.stop();
    // 0.2.7 means to publish workload_undeployed on STOP but looks the workload up after deleting
    // it, so nothing goes out (reference §11); 0.3 publishes it.
    if (this.config.emulate === '0.3.0') {
      this.publishEvent('workload_undeployed', workload.namespace, { workload_id: workload.id, workload_name: workload.name, reason });
    }
    this.log('info', `stopped ${workload.name} (${workload.id}) in ${workload.namespace}`);
    this.changed();
  }

  private answerLameDuck(msg: Msg): void {
    this.lameDuck = true;
    this.publishEvent('node_entered_lameduck', SYSTEM_NAMESPACE, { version: this.version, id: this.nodeId });
    this.log('info', 'entered lame duck mode: deploys are refused from now on');
    const response: LameDuckResponse = { node_id: this.nodeId, success: true };
    this.respond(msg, successEnvelope(ENVELOPE_TYPES.lameDuck, response));
    this.changed();
  }

  private readonly workloadSink: WorkloadSink = {
    event: (type, namespace, data) => this.publishEvent(type, namespace, data),
    log: (workload, source, text, nodeLevel) => this.publishLog(workload, source, text, nodeLevel),
  };

  private publishEvent(type: NodeEventType, namespace: string, data: Record<string, unknown>, options: { agent?: string } = {}): void {
    if (this.nc.isClosed()) {
      return;
    }
    const source = options.agent ? `${this.nodeId}-${options.agent}` : this.nodeId;
    const event = cloudEvent(type, source, data, { namespace: options.agent ? namespace : undefined });
    this.nc.publish(eventSubject(namespace, type), goJson(event));
  }

  private publishLog(workload: DeployedWorkload, source: LogSource, text: string, nodeLevel: NodeLogLevel = 'info'): void {
    if (source === 'workloadStderr') {
      this.log('warn', `${workload.name}: ${text}`);
    } else if (source === 'node') {
      this.log(nodeLevel, `${workload.name}: ${text}`);
    }
    if (this.nc.isClosed()) {
      return;
    }
    const version = this.config.emulate;
    const { origin, level } = logLine(version, source, nodeLevel);
    const body: LogBody = { text, level, id: workload.id };
    this.nc.publish(logSubject(protocolOf(version), origin, workload.namespace, this.nodeId, workload.id, workload.name), goJson(body));
  }

  private changed(): void {
    for (const listener of this.listeners) {
      listener(this);
    }
  }

  /** Stops every workload, says node_stopped, and stops answering. The connection stays open (its owner closes it). */
  async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const workload of this.workloads) {
      await this.stopWorkload(workload, 'Node shutting down');
    }
    for (const sub of this.subscriptions) {
      sub.unsubscribe();
    }
    this.publishEvent('node_stopped', SYSTEM_NAMESPACE, { id: this.nodeId, graceful: true });
    if (!this.nc.isClosed()) {
      await this.nc.flush().catch(() => undefined);
    }
    this.checkRunner.dispose();
    this.log('info', `local Nex node ${this.nodeId} stopped`);
  }
}
