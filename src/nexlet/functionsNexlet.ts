/**
 * The functions nexlet: this extension's executors as a Nex 0.4 agent, so JavaScript and WebAssembly
 * functions run on real Nex 0.4 nodes (which ship no function runtime). It registers with a node as
 * a remote agent exactly as the Go SDK runner does (sdk/go/agent/runner.go; reference "Registration
 * handshake"), twice: once for JavaScript functions (type `v8`) and once for WebAssembly ones
 * (`wasm`), the manifest's own `type` values, so an AUCTION for a function's type finds the right
 * registration. Each registration serves the agent endpoints with the runner's replies and error
 * codes, heartbeats every 10 s, answers for its own workloads only, and registers again when its
 * node restarts or is replaced (the Go runner never does, which orphans every remote nexlet).
 */
import { createCurve, type KeyPair } from '@nats-io/nkeys';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { connectWithData } from '../nats/connectionData';
import { openEnvironment, sealEnvironment } from '../nex/xkeyEnvelope';
import { addMicroService, respondWithHeaders, type Service, type ServiceMsg } from '../nats/microService';
import { goDecode, GoDecodeError } from '../nex04/goDecode';
import { parseGoDuration } from '../nex04/goDuration';
import { functionStartRequestSchemaText } from '../nex04/functionStartRequest';
import { AGENT_ERROR_CODE, readServiceReply } from '../nex04/serviceErrors';
import { agent04, control04, feed04, SYSTEM_NAMESPACE } from '../nex04/subjects';
import { GO_TYPES, type AgentListWorkloadsRequest, type AgentStartWorkloadRequest, type AgentSummary, type LameduckRequest, type LameduckResponse, type NodePingResponse, type RegisterAgentRequest, type RegisterAgentResponse, type RegisterRemoteAgentResponse, type StopWorkloadRequest, type StopWorkloadResponse } from '../nex04/types';
import { FunctionWorkload, type FunctionType } from './functionWorkload';

export const HEARTBEAT_INTERVAL_MS = 10000;
const RREGISTER_TIMEOUT_MS = 3000;
const REGISTER_TIMEOUT_MS = 60000;
const NODE_PING_TIMEOUT_MS = 2000;

export interface FunctionsNexletOptions {
  /** The connection the nexlet was started with (the usual flags): RREGISTER goes over it. */
  nc: NatsConnection;
  /** The node's nexus (`nex node up --nexus`), default `nexus`. */
  nexus?: string;
  /** The agent name (its micro service name), default `nexfn-functions`. */
  name?: string;
  version?: string;
  /** Run JavaScript on V8, which is not a sandbox, instead of QuickJS: the operator's explicit choice. */
  allowV8?: boolean;
  /** How often it heartbeats and checks on its node (default 10 s, as the runner). */
  heartbeatMs?: number;
  log?: (level: 'info' | 'warn' | 'error', text: string) => void;
}

/** The registration types and what each is for. */
const REGISTRATIONS: Record<FunctionType, string> = {
  v8: 'JavaScript functions (the manifest type v8), run on QuickJS by this extension',
  wasm: 'WebAssembly WASI functions (the manifest type wasm)',
};

/** The micro endpoints' names, as the Go runner names them. */
const ENDPOINTS = ['StartWorkload', 'StopWorkload', 'GetWorkload', 'QueryWorkloads', 'PingAgent', 'PingAllAgents', 'SetLameduck'] as const;

/** One registration with one node: an agent id, its connection, its micro service and its workloads. */
class Registration {
  readonly workloads = new Map<string, FunctionWorkload>();
  private service?: Service;
  private lameDuck = false;
  readonly startedAt = new Date();

  constructor(
    readonly type: FunctionType,
    readonly agentId: string,
    readonly nodeId: string,
    readonly nc: NatsConnection,
    private readonly nexlet: FunctionsNexlet,
  ) {}

  summary(): AgentSummary {
    return {
      name: this.nexlet.name,
      start_time: this.startedAt.toISOString(),
      state: this.lameDuck ? 'lameduck' : 'running',
      // One comma-separated string: a list would make the node drop the heartbeat.
      supported_lifecycles: 'function',
      type: this.type,
      version: this.nexlet.version,
      workload_count: this.workloads.size,
    };
  }

  heartbeat(): void {
    this.nc.publish(agent04.heartbeat(this.nodeId, this.agentId), JSON.stringify({ data: '', summary: this.summary() }));
  }

  async serve(): Promise<void> {
    const n = this.nodeId;
    const a = this.agentId;
    this.service = await addMicroService(this.nc, { name: this.nexlet.name, version: this.nexlet.version, description: REGISTRATIONS[this.type], queue: a, metadata: { agent_id: a, register_type: this.type } });
    const subjects: Record<(typeof ENDPOINTS)[number], string> = {
      StartWorkload: agent04.startWorkload(n, a, '*'),
      StopWorkload: agent04.stopWorkload(n, '*'),
      GetWorkload: agent04.getWorkload(n, '*'),
      QueryWorkloads: agent04.queryWorkloads(n),
      PingAgent: agent04.pingAgent(n, a),
      PingAllAgents: agent04.pingAllAgents(n),
      SetLameduck: agent04.setLameDuck(n),
    };
    const handlers: Record<(typeof ENDPOINTS)[number], (msg: ServiceMsg) => void | Promise<void>> = {
      StartWorkload: (msg) => this.startWorkload(msg),
      StopWorkload: (msg) => this.stopWorkload(msg),
      GetWorkload: (msg) => this.getWorkload(msg),
      QueryWorkloads: (msg) => this.queryWorkloads(msg),
      PingAgent: (msg) => this.ping(msg),
      PingAllAgents: (msg) => this.ping(msg),
      SetLameduck: (msg) => this.setLameDuck(msg),
    };
    for (const name of ENDPOINTS) {
      this.service.addEndpoint(name, {
        subject: subjects[name],
        handler: (err, msg) => {
          if (!err) {
            void Promise.resolve(handlers[name](msg)).catch((e: Error) => this.nexlet.log('error', `${name}: ${e.stack ?? e.message}`));
          }
        },
      });
    }
    this.heartbeat();
  }

  private workloadIdOf(subject: string): string {
    return subject.split('.').pop() ?? '';
  }

  /** STARTWORKLOAD: the workload runs, or a code-100 error with the runner's body `{id, name: ""}`. */
  private async startWorkload(msg: ServiceMsg): Promise<void> {
    const id = this.workloadIdOf(msg.subject);
    const refuse = (why: string) => {
      this.nexlet.log('warn', `refused workload ${id}: ${why}`);
      msg.respondError(AGENT_ERROR_CODE, why, JSON.stringify({ id, name: '' }));
    };
    if (this.lameDuck) {
      return refuse('the agent is in lame duck mode and starts no workloads');
    }
    let body: AgentStartWorkloadRequest;
    try {
      body = goDecode<AgentStartWorkloadRequest>(new TextDecoder().decode(msg.data), GO_TYPES.AgentStartWorkloadRequest);
      goDecode(JSON.stringify(body.request), GO_TYPES.StartWorkloadRequest);
    } catch (e) {
      return refuse(e instanceof GoDecodeError ? e.message : String(e));
    }
    // A `request` of JSON null decodes (as in Go, to an empty request): refused for its type, not a TypeError and no reply.
    if (body.request?.workload_type !== this.type) {
      return refuse(`this registration runs ${this.type} functions, not ${body.request?.workload_type ?? ''}`);
    }
    let workload: FunctionWorkload;
    try {
      workload = await FunctionWorkload.launch(id, body.request, body.workload_creds, { type: this.type, allowV8: this.nexlet.allowV8, xkey: this.nexlet.xkey, nodeId: this.nodeId, log: (level, text) => this.nexlet.log(level, text) });
    } catch (e) {
      return refuse((e as Error).message);
    }
    this.workloads.set(id, workload);
    this.nc.publish(feed04.event(workload.namespace, 'WORKLOADSTARTED'), JSON.stringify({ id, metadata: workload.summary().metadata, namespace: workload.namespace, workload_type: this.type }));
    this.nexlet.log('info', `started ${workload.name} (${id}) in ${workload.namespace}, triggered by ${workload.start.triggers.join(', ')}`);
    msg.respond(JSON.stringify({ id, name: workload.name }));
    this.heartbeat();
  }

  /** STOPWORKLOAD: every agent hears it; the one that runs the workload stops it, the others say it is not theirs. */
  private async stopWorkload(msg: ServiceMsg): Promise<void> {
    const id = this.workloadIdOf(msg.subject);
    const workload = this.workloads.get(id);
    let namespace: string | undefined;
    try {
      namespace = goDecode<StopWorkloadRequest>(new TextDecoder().decode(msg.data), GO_TYPES.StopWorkloadRequest).namespace;
    } catch (e) {
      msg.respondError(AGENT_ERROR_CODE, (e as Error).message, JSON.stringify({ id, message: (e as Error).message, stopped: false, workload_type: this.type } satisfies StopWorkloadResponse));
      return;
    }
    if (!workload || (namespace !== SYSTEM_NAMESPACE && namespace !== workload.namespace)) {
      msg.respondError(AGENT_ERROR_CODE, 'workload not found', JSON.stringify({ id, message: 'workload not found', stopped: false, workload_type: this.type } satisfies StopWorkloadResponse));
      return;
    }
    this.workloads.delete(id);
    await workload.stop();
    this.nc.publish(feed04.event(workload.namespace, 'WORKLOADSTOPPED'), JSON.stringify({ id, metadata: workload.summary().metadata, namespace: workload.namespace, workload_type: this.type }));
    this.nexlet.log('info', `stopped ${workload.name} (${id})`);
    msg.respond(JSON.stringify({ id, message: '', stopped: true, workload_type: this.type } satisfies StopWorkloadResponse));
    this.heartbeat();
  }

  /**
   * GETWORKLOAD (a CLONE): the stored start request of one of its own workloads; nothing at all for
   * another's (as the runner). A sealed environment is sealed again to the CLONE's `new_target_xkey`
   * (the xkey of the nexlet that bid for the copy), which only this nexlet can do.
   */
  private getWorkload(msg: ServiceMsg): void {
    const workload = this.workloads.get(this.workloadIdOf(msg.subject));
    if (!workload) {
      return;
    }
    let target: unknown;
    try {
      target = (JSON.parse(new TextDecoder().decode(msg.data)) as { new_target_xkey?: unknown } | null)?.new_target_xkey;
    } catch {
      target = undefined;
    }
    const sealed = workload.start.sealed_environment;
    if (!sealed || typeof target !== 'string' || !/^X[A-Z2-7]{55}$/.test(target) || target === this.nexlet.xkey.getPublicKey()) {
      msg.respond(JSON.stringify(workload.request));
      return;
    }
    try {
      const environment = openEnvironment(sealed.data, this.nexlet.xkey, sealed.sender_xkey);
      const resealed = { ...workload.start, sealed_environment: { sender_xkey: this.nexlet.xkey.getPublicKey(), data: sealEnvironment(environment, this.nexlet.xkey, target) } };
      msg.respond(JSON.stringify({ ...workload.request, run_request: JSON.stringify(resealed) }));
    } catch (e) {
      msg.respondError(AGENT_ERROR_CODE, `cannot seal ${workload.name}'s environment to ${target}: ${(e as Error).message}`);
    }
  }

  /** QUERYWORKLOADS: its own workloads in the namespace (every namespace for `system`). */
  private queryWorkloads(msg: ServiceMsg): void {
    let request: AgentListWorkloadsRequest;
    try {
      request = goDecode<AgentListWorkloadsRequest>(new TextDecoder().decode(msg.data), GO_TYPES.AgentListWorkloadsRequest);
    } catch (e) {
      msg.respondError(AGENT_ERROR_CODE, (e as Error).message, JSON.stringify([]));
      return;
    }
    const filter = request.filter && request.filter.length > 0 ? new Set(request.filter) : undefined;
    const list = [...this.workloads.values()]
      .filter((w) => request.namespace === SYSTEM_NAMESPACE || w.namespace === request.namespace)
      .filter((w) => !filter || filter.has(w.id) || filter.has(w.name))
      .map((w) => w.summary());
    msg.respond(JSON.stringify(list));
  }

  private ping(msg: ServiceMsg): void {
    const h = natsHeaders();
    h.set('agentId', this.agentId);
    respondWithHeaders(msg, JSON.stringify(this.summary()), h);
  }

  /**
   * SETLAMEDUCK: no new bids (the heartbeat says lameduck) nor starts; running triggers finish and
   * workloads go on. As the runner, only a LameduckRequest whose delay parses orders it; any other
   * body gets a code-100 error with `success: false` and changes nothing.
   */
  private setLameDuck(msg: ServiceMsg): void {
    try {
      parseGoDuration(goDecode<LameduckRequest>(new TextDecoder().decode(msg.data), GO_TYPES.LameduckRequest).delay ?? '');
    } catch (e) {
      msg.respondError(AGENT_ERROR_CODE, (e as Error).message, JSON.stringify({ message: '', success: false } satisfies LameduckResponse));
      return;
    }
    this.lameDuck = true;
    this.nexlet.log('info', `lame duck mode: ${this.type} registration ${this.agentId} takes no new workloads`);
    msg.respond(JSON.stringify({ message: '', success: true }));
    this.heartbeat();
  }

  /** Stops every workload and the service; `lost` says why the workloads go (node gone, nexlet stopping). */
  async close(): Promise<string[]> {
    const names = [...this.workloads.values()].map((w) => `${w.name} (${w.id})`);
    await Promise.all([...this.workloads.values()].map((w) => w.stop()));
    this.workloads.clear();
    await this.service?.stop().catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
    return names;
  }
}

export class FunctionsNexlet {
  readonly name: string;
  readonly version: string;
  readonly nexus: string;
  readonly allowV8: boolean;
  /** The curve key pair a client seals a start request's environment to (the bids carry its public key). */
  readonly xkey: KeyPair = createCurve();
  private registrations: Registration[] = [];
  private timer?: ReturnType<typeof setInterval>;
  private stopped = false;
  /** The node's start time as its PING said at registration: another means it restarted and forgot us. */
  private nodeStartTime?: string;
  private checking = false;

  private constructor(private readonly options: FunctionsNexletOptions) {
    this.name = options.name ?? 'nexfn-functions';
    this.version = options.version ?? '0.1.0';
    this.nexus = options.nexus ?? 'nexus';
    this.allowV8 = options.allowV8 ?? false;
  }

  /** Registers with a node of the nexus (throws when none answers RREGISTER, saying so) and starts serving. */
  static async start(options: FunctionsNexletOptions): Promise<FunctionsNexlet> {
    const nexlet = new FunctionsNexlet(options);
    await nexlet.register();
    const every = options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    nexlet.timer = setInterval(() => void nexlet.tick(), every);
    return nexlet;
  }

  log(level: 'info' | 'warn' | 'error', text: string): void {
    this.options.log?.(level, text);
  }

  /** The node it is registered with, and each registration's agent id. */
  get registered(): { nodeId: string; agents: Record<FunctionType, string> } | undefined {
    const [first] = this.registrations;
    return first && { nodeId: first.nodeId, agents: Object.fromEntries(this.registrations.map((r) => [r.type, r.agentId])) as Record<FunctionType, string> };
  }

  /** Its running workloads, of both registrations. */
  get workloads(): FunctionWorkload[] {
    return this.registrations.flatMap((r) => [...r.workloads.values()]);
  }

  /** RREGISTER and REGISTER for each type, then serving; a failure leaves nothing registered. */
  private async register(): Promise<void> {
    const made: Registration[] = [];
    try {
      for (const type of Object.keys(REGISTRATIONS) as FunctionType[]) {
        made.push(await this.registerType(type));
      }
    } catch (e) {
      await Promise.all(made.map((r) => r.close()));
      throw e;
    }
    this.registrations = made;
    this.nodeStartTime = await this.nodeStart(made[0]).catch(() => undefined);
    this.log('info', `registered with node ${made[0].nodeId}: ${made.map((r) => `${r.type} as ${r.agentId}`).join(', ')}`);
  }

  private async registerType(type: FunctionType): Promise<Registration> {
    const nc = this.options.nc;
    let remote: RegisterRemoteAgentResponse;
    try {
      remote = readServiceReply<RegisterRemoteAgentResponse>(await nc.request(agent04.remoteRegister(this.nexus), '{}', { timeout: RREGISTER_TIMEOUT_MS }));
    } catch (e) {
      throw new Error(`no Nex 0.4 node of the nexus "${this.nexus}" answered ${agent04.remoteRegister(this.nexus)} (${(e as Error).message}): start one with --allow-remote-agent-registration (nex node up), or nexfn node --emulate 0.4.1, on this NATS account`);
    }
    const registering = await connectWithData(remote.registration_creds, `${this.name}-register`);
    let registered: RegisterAgentResponse;
    try {
      const request: RegisterAgentRequest = {
        description: REGISTRATIONS[type],
        max_workloads: 0,
        name: this.name,
        public_xkey: this.xkey.getPublicKey(),
        register_type: type,
        start_request_schema: functionStartRequestSchemaText(),
        supported_lifecycles: ['function'],
        version: this.version,
      };
      registered = readServiceReply<RegisterAgentResponse>(await registering.request(agent04.register(remote.respond_to, remote.assigned_agent_id), JSON.stringify(request), { timeout: REGISTER_TIMEOUT_MS }));
    } finally {
      await registering.close().catch(() => undefined);
    }
    if (!registered.success) {
      throw new Error(`node ${remote.respond_to} refused the ${type} registration: ${registered.message || 'no reason given'}`);
    }
    const agentNc = await connectWithData(registered.connection_data, `${this.name}-${type}`);
    const registration = new Registration(type, remote.assigned_agent_id, registered.node_id || remote.respond_to, agentNc, this);
    await registration.serve();
    return registration;
  }

  /** The node's `start_time` (PING.<node>), which changes when it restarts. */
  private async nodeStart(registration: Registration): Promise<string> {
    const reply = await registration.nc.request(control04.pingNode(registration.nodeId), JSON.stringify({ filter: null }), { timeout: NODE_PING_TIMEOUT_MS });
    return readServiceReply<NodePingResponse>(reply).start_time;
  }

  /**
   * Every heartbeat interval: heartbeats, and checks that its node is the one it registered with.
   * A node that does not answer, or answers with another start time, has lost the registrations:
   * the workloads are stopped (and said to be lost) and the nexlet registers again as soon as a node
   * answers RREGISTER.
   */
  private async tick(): Promise<void> {
    if (this.stopped || this.checking) {
      return;
    }
    this.checking = true;
    try {
      if (this.registrations.length === 0) {
        await this.register().catch((e: Error) => this.log('warn', `not registered: ${e.message}`));
        return;
      }
      this.registrations.forEach((r) => r.heartbeat());
      const start = await this.nodeStart(this.registrations[0]).catch(() => undefined);
      if (start !== undefined && (this.nodeStartTime === undefined || start === this.nodeStartTime)) {
        this.nodeStartTime ??= start;
        return;
      }
      const node = this.registrations[0].nodeId;
      const lost = (await Promise.all(this.registrations.splice(0).map((r) => r.close()))).flat();
      this.log('warn', `node ${node} ${start === undefined ? 'does not answer' : 'restarted'}: its registrations are gone${lost.length > 0 ? `, and with them ${lost.join(', ')} (deploy them again)` : ''}; registering again`);
      await this.register().catch((e: Error) => this.log('warn', `not registered yet: ${e.message}`));
    } finally {
      this.checking = false;
    }
  }

  /** Stops every workload and registration. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(this.registrations.splice(0).map((r) => r.close()));
  }
}
