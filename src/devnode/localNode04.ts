/**
 * The local Nex node as a Nex 0.4.1 node (`emulate: '0.4.1'`): the NATS micro service `nexnode`
 * answering the 0.4.1 control API (PING, PTAGS, INFO, LAMEDUCK, AGENTID, AUCTION, ADEPLOY, UNDEPLOY,
 * CLONE, WPING) and the agent registration (RREGISTER, REGISTER, heartbeats) with the subjects,
 * bodies, error texts and codes of a 0.4.1 node (reference ../shared/nex-0.4-protocol.md, read from
 * handlers.go, node.go and internal/agent_registration.go at 0.4.1). Like `nex node up
 * --allow-remote-agent-registration --disable-native-start`, it runs nothing itself: workloads run on
 * the nexlets (agents) that register with it, e.g. the functions nexlet `nexfn node` starts beside it.
 *
 * Where 0.4.1 crashes or stalls, this node answers sanely instead (README, "The local Nex node",
 * differences): UNDEPLOY with no agent registered replies "workload not found" and keeps running;
 * the fan-outs (WPING, UNDEPLOY, LAMEDUCK) answer as soon as every registered agent has replied
 * instead of waiting 2 s for one reply more; at the end of a lame-duck delay the node stops answering
 * and says NODESTOPPED, but its process stays (its owner ends it).
 */
import * as os from 'os';
import { createInbox, headers as natsHeaders, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { goJson } from '../nex/controlApi';
import { formatGoDuration } from '../nex/uptime';
import { plainConnectionData } from '../nats/connectionData';
import { goDecode, GoDecodeError, goJsonParse } from '../nex04/goDecode';
import { GoDurationError, parseGoDuration } from '../nex04/goDuration';
import { respondNodeError, SERVICE_ERROR_HEADER } from '../nex04/serviceErrors';
import { compileStartRequestSchema, StartSchemaError, type CompiledStartSchema } from '../nex04/startRequestSchema';
import { agent04, control04, feed04 } from '../nex04/subjects';
import {
  GO_TYPES,
  type AgentHeartbeat,
  type AgentListWorkloadsRequest,
  type AgentSummary,
  type AuctionRequest,
  type AuctionResponse,
  type CloneWorkloadRequest,
  type ConnectionData,
  type LameduckRequest,
  type LameduckResponse,
  type NodeAgentSummary,
  type NodeInfoResponse,
  type NodePingRequest,
  type NodePingResponse,
  type RegisterAgentRequest,
  type RegisterAgentResponse,
  type RegisterRemoteAgentResponse,
  type StartWorkloadRequest,
  type StopWorkloadRequest,
  type StopWorkloadResponse,
  type WorkloadSummary,
} from '../nex04/types';
import type { NodeLogLevel } from './localNode';
import { defaultNodeConfig, NodeConfig } from './nodeConfig';
import { loadOrCreateIdentity, NodeIdentity } from './nodeIdentity';

export const NEX_041_VERSION = '0.4.1';

/** How often things happen; a 0.4.1 node's values by default (tests shorten them). */
export interface LocalNode04Timing {
  /** The node's HEARTBEAT (10 s). */
  heartbeatMs: number;
  /** How often agent health is checked (5 s). */
  healthCheckMs: number;
  /** No agent heartbeat for longer than this: degraded (10 s). */
  degradedAfterMs: number;
  /** …and offline after this (30 s). */
  offlineAfterMs: number;
  /** How long a bid can be deployed to (10 s). */
  bidTtlMs: number;
  /** The longest a fan-out to the agents waits for their replies (0.4.1: always 2 s; here: until all replied, at most this). */
  fanOutMs: number;
}

const DEFAULT_TIMING: LocalNode04Timing = { heartbeatMs: 10_000, healthCheckMs: 5_000, degradedAfterMs: 10_000, offlineAfterMs: 30_000, bidTtlMs: 10_000, fanOutMs: 2_000 };

export interface LocalNode04Options {
  /** The node's NATS connection. */
  nc: NatsConnection;
  /** Where the identity is kept (shared with the 0.2/0.3 modes: the same node id). */
  stateDir: string;
  config?: Partial<NodeConfig>;
  log?: (level: NodeLogLevel, text: string) => void;
  /** The NATS URL put in the connection data nexlets and workloads get (default: the connection's server). */
  natsUrl?: string;
  timing?: Partial<LocalNode04Timing>;
}

/** The node's health of an agent, in 0.4.1's words (internal/agent_registration.go). */
export type AgentHealth = 'healthy' | 'shutting down' | 'degraded' | 'offline' | 'unknown';
const STOPLIGHT: Record<AgentHealth, string> = { healthy: '🟢', 'shutting down': '🟠', degraded: '🟡', offline: '🔴', unknown: '⚪️' };

/** A registered agent (nexlet), as the node keeps it. */
export interface RegisteredAgent {
  readonly id: string;
  readonly request: RegisterAgentRequest;
  readonly schema: CompiledStartSchema;
  health: AgentHealth;
  /** ms since the epoch; undefined before the first heartbeat (Go's zero time). */
  lastHeartbeat?: number;
  summary: AgentSummary;
  readonly heartbeatSub: Subscription;
}

/** A workload deployed through this node (its own bookkeeping: the agents own the truth). */
export interface Workload04 {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
}

export type NodeListener04 = (node: LocalNexNode04) => void;

const ZERO_TIME = '0001-01-01T00:00:00Z';
const ZERO_SUMMARY: AgentSummary = { name: '', start_time: ZERO_TIME, state: '', supported_lifecycles: '', type: '', version: '', workload_count: 0 };

/** A time as Go's encoding/json writes time.Time (RFC 3339, fractional seconds without trailing zeros). */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d+)Z$/, (_, frac: string) => (/^0+$/.test(frac) ? 'Z' : `.${frac.replace(/0+$/, '')}Z`));
}

/** time.DateTime in local time, as the LAMEDUCK reply says when the node shuts down. */
function goDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A Go map as encoding/json writes it: keys sorted. */
function sortedMap(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(map)
    .sort()
    .map((k) => [k, map[k]]));
}

function healthOfState(state: string): AgentHealth {
  switch (state) {
    case 'running':
      return 'healthy';
    case 'error':
    case 'starting':
      return 'degraded';
    case 'lameduck':
    case 'stopping':
      return 'shutting down';
    default:
      return 'unknown';
  }
}

function goDuration(nanos: number): string {
  return nanos < 0 ? `-${formatGoDuration(-nanos)}` : formatGoDuration(nanos);
}

/** `$NEX.SVC.<ns>.control.<VERB>[.<target>]`: the subject's namespace and its target (a bidder or workload id). */
function controlSubjectParts(subject: string): { namespace: string; target: string } {
  const tokens = subject.split('.');
  return { namespace: tokens[2], target: tokens.slice(5).join('.') };
}

export class LocalNexNode04 {
  readonly identity: NodeIdentity;
  readonly config: NodeConfig;
  readonly startedAt = Date.now();
  readonly timing: LocalNode04Timing;
  /** The URL in the connection data handed to nexlets and workloads. */
  readonly natsUrl: string;
  private readonly nc: NatsConnection;
  private readonly log: (level: NodeLogLevel, text: string) => void;
  private readonly agents = new Map<string, RegisteredAgent>();
  private readonly bids = new Map<string, number>();
  private readonly deployed = new Map<string, Workload04>();
  private readonly listeners = new Set<NodeListener04>();
  private readonly nodeTags: Record<string, string>;
  private service?: Service;
  private state: NodePingResponse['state'] = 'running';
  private heartbeat?: ReturnType<typeof setInterval>;
  private healthMonitor?: ReturnType<typeof setInterval>;
  private lameDuckTimer?: ReturnType<typeof setTimeout>;
  private stopped = false;

  private constructor(options: LocalNode04Options) {
    this.nc = options.nc;
    // A 0.4.1 node's heartbeat is every 10 s: the 0.2/0.3 default (30 s) does not apply here.
    this.config = defaultNodeConfig({ ...options.config, emulate: '0.4.1', heartbeatMs: options.config?.heartbeatMs ?? options.timing?.heartbeatMs ?? DEFAULT_TIMING.heartbeatMs });
    this.timing = { ...DEFAULT_TIMING, ...options.timing, heartbeatMs: this.config.heartbeatMs };
    this.log = options.log ?? (() => undefined);
    this.identity = loadOrCreateIdentity(options.stateDir);
    this.natsUrl = withScheme(options.natsUrl ?? options.nc.getServer());
    this.nodeTags = {
      'nex.arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
      'nex.cpucount': String(os.cpus().length),
      'nex.lameduck': 'false',
      'nex.local': 'true',
      'nex.os': process.platform === 'win32' ? 'windows' : process.platform,
      ...this.config.tags,
      // Set after the options on a 0.4.1 node (node.go:168), so they win over --tags.
      'nex.nexus': this.config.nexus,
      'nex.node': this.config.nodeName,
    };
  }

  /** Starts the node on a connection: the micro service, NODESTARTED, the heartbeat. */
  static async start(options: LocalNode04Options): Promise<LocalNexNode04> {
    const node = new LocalNexNode04(options);
    await node.listen();
    return node;
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  get version(): string {
    return NEX_041_VERSION;
  }

  get nodeState(): NodePingResponse['state'] {
    return this.state;
  }

  get isLameDuck(): boolean {
    return this.state === 'lameduck';
  }

  /** The workloads deployed through this node and not yet undeployed through it. */
  get workloads(): readonly Workload04[] {
    return [...this.deployed.values()];
  }

  /** The registered agents (a registration stays after its nexlet is gone, as on 0.4.1). */
  get registeredAgents(): readonly RegisteredAgent[] {
    return [...this.agents.values()];
  }

  onDidChange(listener: NodeListener04): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The node's tags, keys sorted (a Go map). */
  tags(): Record<string, string> {
    return sortedMap(this.nodeTags);
  }

  /** The connection data of a node without an issuer: the node's NATS URL, no credentials. */
  connectionData(): ConnectionData {
    return plainConnectionData([this.natsUrl]);
  }

  private async listen(): Promise<void> {
    // @nats-io/services carries its own nats-core typings (3.0.0-50); the connection is this project's 3.4.0 one, which it serves on fine.
    const service = await new Svcm(this.nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
      name: 'nexnode',
      version: NEX_041_VERSION,
      description: 'Commit: local | Build date: unknown',
      queue: this.nodeId,
    });
    this.service = service;
    const endpoint = (name: string, subject: string, handler: (msg: ServiceMsg) => void | Promise<void>, queue = this.nodeId) =>
      service.addEndpoint(name, {
        subject,
        queue,
        handler: (err, msg) => {
          if (err) {
            this.log('error', `endpoint ${name}: ${err.message}`);
            return;
          }
          Promise.resolve()
            .then(() => handler(msg))
            .catch((e: Error) => this.log('error', `${msg.subject}: ${e.stack ?? e.message}`));
        },
      });
    const any = '*';
    endpoint('PingPlacementTags', control04.tags(), (m) => this.answerTags(m));
    endpoint('PingNexus', control04.ping(), (m) => this.answerPing(m));
    endpoint('PingNode', control04.pingNode(this.nodeId), (m) => this.answerPing(m));
    endpoint('GetNodeInfo', control04.info(this.nodeId), (m) => this.answerInfo(m));
    endpoint('SetLameduck', control04.lameDuck(this.nodeId), (m) => this.answerLameDuck(m));
    endpoint('GetAgentIdByName', control04.agentId(this.nodeId), (m) => this.answerAgentId(m));
    endpoint('RegisterRemoteAgent', agent04.remoteRegister(this.config.nexus), (m) => this.answerRemoteRegister(m), this.config.nexus);
    endpoint('RegisterAgent', agent04.register(this.nodeId, any), (m) => this.answerRegister(m));
    endpoint('AuctionRequest', control04.auction(any), (m) => this.answerAuction(m));
    endpoint('StopWorkload', control04.undeploy(any, any), (m) => this.answerUndeploy(m));
    endpoint('AuctionDeployWorkload', control04.deploy(any, any), (m) => this.answerDeploy(m));
    endpoint('CloneWorkload', control04.clone(any, any), (m) => this.answerClone(m));
    endpoint('NamespacePingRequest', control04.workloadPing(any), (m) => this.answerWorkloadPing(m));
    await this.nc.flush();
    this.emit('NODESTARTED', { id: this.nodeId, name: this.config.nodeName, nexus: this.config.nexus, tags: this.tags(), type: 'io.synadia.nex.event.nexnode_started' });
    this.heartbeat = setInterval(() => this.publishHeartbeat(), this.timing.heartbeatMs);
    this.heartbeat.unref?.();
    this.healthMonitor = setInterval(() => this.checkAgentHealth(), this.timing.healthCheckMs);
    this.healthMonitor.unref?.();
    this.log(
      'info',
      `local Nex node ${this.nodeId} (emulating 0.4.1, nexus ${this.config.nexus}) awaiting agents and commands on ${this.natsUrl}; it runs no workloads itself: nexlets register on ${agent04.remoteRegister(this.config.nexus)}`,
    );
  }

  // ---- helpers

  private emit(type: string, body: unknown): void {
    if (!this.nc.isClosed()) {
      this.nc.publish(feed04.event(this.nodeId, type), goJson(body));
    }
  }

  private respond(msg: ServiceMsg | Msg, body: unknown): void {
    msg.respond(goJson(body));
  }

  /** Decodes a body as the Go type, or answers 400 with the node's description and Go's text. */
  private decode<T>(msg: ServiceMsg, type: (typeof GO_TYPES)[keyof typeof GO_TYPES], description: string): T | undefined {
    try {
      return goDecode<T>(new TextDecoder().decode(msg.data), type);
    } catch (e) {
      if (e instanceof GoDecodeError) {
        this.log('warn', `${msg.subject}: ${description}: ${e.message}`);
        respondNodeError(msg, 400, description, e.message);
        return undefined;
      }
      throw e;
    }
  }

  /** A workload endpoint's body, decoded, if the subject's namespace may ask for the body's; else undefined, answered with the error. */
  private decodeInNamespace<T extends { namespace?: string | null }>(msg: ServiceMsg, type: (typeof GO_TYPES)[keyof typeof GO_TYPES], description: string): T | undefined {
    const request = this.decode<T>(msg, type, description);
    return request && this.namespaceAllowed(msg, controlSubjectParts(msg.subject).namespace, request.namespace) ? request : undefined;
  }

  /** The namespace rule of the workload endpoints: the body's namespace, or a `system` caller. */
  private namespaceAllowed(msg: ServiceMsg, subjectNamespace: string, bodyNamespace: string | null | undefined): boolean {
    if (subjectNamespace === bodyNamespace || subjectNamespace === 'system') {
      return true;
    }
    respondNodeError(msg, 403, `namespace mismatch: ${subjectNamespace} != ${bodyNamespace ?? ''}`, 'namespace mismatch');
    return false;
  }

  private healthyAgentOfType(type: string | null | undefined): RegisteredAgent | undefined {
    return [...this.agents.values()].find((a) => a.request.register_type === type && a.health === 'healthy');
  }

  private tagsMatch(wanted: Record<string, string> | null | undefined): boolean {
    return Object.entries(wanted ?? {}).every(([k, v]) => this.nodeTags[k] === v);
  }

  /**
   * Sends `data` to `subject` and collects replies until `max` arrived, `enough` says so, or the
   * deadline. (0.4.1 waits for one reply more than it asked for, until 2 s have passed: not here.)
   */
  private async fanOut(subject: string, data: Uint8Array | string, max: number, enough: (m: Msg) => boolean = () => false): Promise<Msg[]> {
    const replies: Msg[] = [];
    if (max <= 0) {
      return replies;
    }
    const inbox = createInbox();
    const sub = this.nc.subscribe(inbox, { max });
    const timer = setTimeout(() => sub.unsubscribe(), this.timing.fanOutMs);
    try {
      this.nc.publish(subject, data, { reply: inbox });
      for await (const m of sub) {
        if (m.headers?.hasError && m.headers.code === 503) {
          // No responders at all.
          break;
        }
        replies.push(m);
        if (enough(m)) {
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
    return replies;
  }

  private changed(): void {
    for (const listener of this.listeners) {
      listener(this);
    }
  }

  // ---- node endpoints

  private answerTags(msg: ServiceMsg): void {
    this.respond(msg, this.tags());
  }

  private pingResponse(): NodePingResponse {
    return {
      agent_count: this.agents.size,
      node_id: this.nodeId,
      start_time: goTime(this.startedAt),
      state: this.state,
      tags: this.tags(),
      version: NEX_041_VERSION,
      xkey: this.identity.publicXKey,
    };
  }

  private answerPing(msg: ServiceMsg): void {
    const request = this.decode<NodePingRequest>(msg, GO_TYPES.NodePingRequest, 'failed to unmarshal ping request');
    if (!request || !this.tagsMatch(request.filter)) {
      return;
    }
    this.respond(msg, this.pingResponse());
  }

  private agentSummaries(): NodeAgentSummary[] {
    return [...this.agents.values()].map((a) => ({
      agent_health: a.health,
      agent_health_stoplight: STOPLIGHT[a.health],
      agent_id: a.id,
      agent_last_heartbeat_time: a.lastHeartbeat === undefined ? ZERO_TIME : goTime(a.lastHeartbeat),
      agent_summary: a.summary,
    }));
  }

  private answerInfo(msg: ServiceMsg): void {
    const summaries = this.agentSummaries();
    const response: NodeInfoResponse = {
      // omitempty: no key without agents.
      ...(summaries.length ? { node_agent_summaries: summaries } : {}),
      node_id: this.nodeId,
      tags: this.tags(),
      uptime: goDuration((Date.now() - this.startedAt) * 1e6),
      version: NEX_041_VERSION,
      xkey: this.identity.publicXKey,
    };
    this.respond(msg, response);
  }

  private async answerLameDuck(msg: ServiceMsg): Promise<void> {
    const request = this.decode<LameduckRequest>(msg, GO_TYPES.LameduckRequest, 'failed to unmarshal lameduck request');
    if (!request || (request.tag && !this.tagsMatch(request.tag))) {
      return;
    }
    let delayNanos: number;
    try {
      delayNanos = parseGoDuration(request.delay ?? '');
    } catch (e) {
      if (e instanceof GoDurationError) {
        respondNodeError(msg, 400, 'failed to parse lameduck delay', e.message);
        return;
      }
      throw e;
    }
    // The agents are told (0.4.1 then ignores what they say: the runner's reply lacks the agentId header it wants).
    const replies = await this.fanOut(agent04.setLameDuck(this.nodeId), goJson({ delay: goDuration(delayNanos), tag: request.tag ?? undefined }), this.agents.size);
    if (this.agents.size > 0) {
      this.log('info', `lame duck: ${replies.length} of ${this.agents.size} agents answered SETLAMEDUCK`);
    }
    const delayMs = Math.max(0, delayNanos / 1e6);
    const shutdownAt = Date.now() + delayMs;
    this.state = 'lameduck';
    this.nodeTags['nex.lameduck'] = 'true';
    this.emit('NODELAMEDUCKSET', { id: this.nodeId, time: goTime(shutdownAt) });
    clearTimeout(this.lameDuckTimer);
    if (delayMs <= 2 ** 31 - 1) {
      this.lameDuckTimer = setTimeout(() => void this.endLameDuck(), delayMs);
      this.lameDuckTimer.unref?.();
    }
    this.log('info', `entered lame duck mode: the node stops answering at ${goDateTime(shutdownAt)} (a 0.4.1 node exits then; this one's process stays until its owner stops it)`);
    const response: LameduckResponse = { message: `node entering lameduck mode, will shutdown at ${goDateTime(shutdownAt)}`, success: true };
    this.respond(msg, response);
    this.changed();
  }

  /** The end of a lame-duck delay: a 0.4.1 node stops its service, says NODESTOPPED and exits 0; this one stays as a process. */
  private async endLameDuck(): Promise<void> {
    this.log('warn', 'the lame-duck delay is over: the node stopped answering (NODESTOPPED). A 0.4.1 node exits here; restart the local node to bring it back');
    await this.stop();
  }

  private answerAgentId(msg: ServiceMsg): void {
    const name = new TextDecoder().decode(msg.data);
    if (name === '') {
      respondNodeError(msg, 400, 'agent name is required', 'agent name is required');
      return;
    }
    const agent = [...this.agents.values()].find((a) => a.request.name === name);
    if (agent) {
      msg.respond(agent.id);
    }
  }

  // ---- registration

  private answerRemoteRegister(msg: ServiceMsg): void {
    const text = new TextDecoder().decode(msg.data);
    let body: unknown;
    try {
      body = goJsonParse(text);
    } catch (e) {
      respondNodeError(msg, 400, 'failed to unmarshal register remote agent request', (e as Error).message);
      return;
    }
    if (body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      const kind = Array.isArray(body) ? 'array' : typeof body === 'boolean' ? 'bool' : typeof body;
      respondNodeError(msg, 400, 'failed to unmarshal register remote agent request', `json: cannot unmarshal ${kind} into Go value of type models.RegisterRemoteAgentRequest`);
      return;
    }
    const response: RegisterRemoteAgentResponse = { assigned_agent_id: nuid.next(), registration_creds: this.connectionData(), respond_to: this.nodeId };
    this.respond(msg, response);
  }

  private answerRegister(msg: ServiceMsg): void {
    // $NEX.SVC.<node>.agent.REGISTER.<agent id>: the rest of the subject, dots included.
    const agentId = msg.subject.split('.').slice(5).join('.');
    const request = this.decode<RegisterAgentRequest>(msg, GO_TYPES.RegisterAgentRequest, 'failed to unmarshal register local agent request');
    if (!request) {
      return;
    }
    if (!request.register_type) {
      respondNodeError(msg, 400, 'register_type is required', 'register_type is required');
      return;
    }
    let schema: CompiledStartSchema;
    try {
      schema = compileStartRequestSchema(request.start_request_schema ?? '');
    } catch (e) {
      if (e instanceof StartSchemaError) {
        this.log('warn', `agent ${request.name ?? ''} (${agentId}): its start request schema ${e.stage === 'parse' ? 'is not JSON' : 'does not compile'}: ${e.message}`);
        if (e.stage === 'parse') {
          respondNodeError(msg, 400, 'failed to unmarshal start request schema', e.message);
        } else {
          respondNodeError(msg, 500, 'failed to compile schema', e.message);
        }
        return;
      }
      throw e;
    }
    if (agentId === '' || this.agents.has(agentId)) {
      const cause = agentId === '' ? 'failed to register agent with empty ID' : `agent with ID ${agentId} is already registered`;
      this.log('warn', `REGISTER refused: ${cause}`);
      respondNodeError(msg, 500, 'failed to update registration', cause);
      return;
    }
    const registration: RegisterAgentRequest = {
      description: request.description ?? '',
      max_workloads: request.max_workloads ?? 0,
      name: request.name ?? '',
      public_xkey: request.public_xkey ?? '',
      register_type: request.register_type,
      start_request_schema: request.start_request_schema ?? '',
      ...(request.supported_lifecycles ? { supported_lifecycles: request.supported_lifecycles } : {}),
      version: request.version ?? '',
    };
    const heartbeatSub = this.nc.subscribe(agent04.heartbeat(this.nodeId, agentId), { callback: (err, m) => (err ? undefined : this.onAgentHeartbeat(agentId, m)) });
    this.agents.set(agentId, { id: agentId, request: registration, schema, health: 'unknown', summary: { ...ZERO_SUMMARY }, heartbeatSub });
    const response: RegisterAgentResponse = { connection_data: this.connectionData(), existing_state: {}, message: '', node_id: this.nodeId, success: true };
    this.respond(msg, response);
    this.log('info', `agent registered: ${registration.name} [${registration.register_type}] ${agentId} (healthy, and bidding, from its first heartbeat with state "running")`);
    this.changed();
  }

  private onAgentHeartbeat(agentId: string, msg: Msg): void {
    const agent = this.agents.get(agentId);
    if (!agent) {
      return;
    }
    let summary: AgentSummary;
    try {
      const beat = goDecode<AgentHeartbeat>(new TextDecoder().decode(msg.data), GO_TYPES.AgentHeartbeat);
      summary = { ...ZERO_SUMMARY, ...goDecode<Partial<AgentSummary>>(JSON.stringify(beat.summary ?? null), GO_TYPES.AgentSummary) };
      for (const key of Object.keys(summary) as Array<keyof AgentSummary>) {
        if (summary[key] === null) {
          (summary as unknown as Record<string, unknown>)[key] = ZERO_SUMMARY[key];
        }
      }
    } catch (e) {
      // 0.4.1 logs and drops it: the agent's health stays as it was.
      this.log('warn', `failed to unmarshal agent heartbeat from ${agentId}: ${(e as Error).message}${/supported_lifecycles/.test((e as Error).message) ? ' (summary.supported_lifecycles is one comma-separated string)' : ''}`);
      return;
    }
    const before = agent.health;
    agent.health = healthOfState(summary.state);
    agent.lastHeartbeat = Date.now();
    agent.summary = summary;
    if (before !== agent.health) {
      this.log('info', `agent ${agent.request.name} [${agent.request.register_type}] ${agentId} is ${agent.health} (state "${summary.state}")`);
      this.changed();
    }
  }

  /** Every 5 s: no heartbeat for over 10 s is degraded, over 30 s offline (an agent that never sent one: offline). */
  private checkAgentHealth(): void {
    const now = Date.now();
    for (const agent of this.agents.values()) {
      const since = agent.lastHeartbeat === undefined ? Infinity : now - agent.lastHeartbeat;
      const before = agent.health;
      if (since > this.timing.offlineAfterMs) {
        agent.health = 'offline';
      } else if (since > this.timing.degradedAfterMs) {
        agent.health = 'degraded';
      }
      if (before !== agent.health) {
        this.log('warn', `agent ${agent.request.name} [${agent.request.register_type}] ${agent.id} is ${agent.health}: no heartbeat for ${agent.lastHeartbeat === undefined ? 'ever' : `${Math.round(since / 1000)} s`}`);
        this.changed();
      }
    }
    for (const [bid, expires] of this.bids) {
      if (expires <= now) {
        this.bids.delete(bid);
        this.log('debug', `bid ${bid} expired`);
      }
    }
  }

  private publishHeartbeat(): void {
    if (this.nc.isClosed()) {
      return;
    }
    const registrations = [...this.agents.values()].map((a) => `${a.id} [${a.request.register_type}]`).join(', ');
    this.nc.publish(control04.heartbeat(this.nodeId), goJson({ registrations }));
  }

  // ---- workloads

  private answerAuction(msg: ServiceMsg): void {
    const request = this.decode<AuctionRequest>(msg, GO_TYPES.AuctionRequest, 'failed to unmarshal auction request');
    if (!request) {
      return;
    }
    const agent = this.healthyAgentOfType(request.agent_type);
    if (!agent || !this.tagsMatch(request.tags)) {
      return;
    }
    const bidderId = nuid.next();
    this.bids.set(bidderId, Date.now() + this.timing.bidTtlMs);
    const response: AuctionResponse = {
      bidder_id: bidderId,
      start_request_schema: agent.request.start_request_schema,
      supported_lifecycles: agent.request.supported_lifecycles ?? (null as unknown as AuctionResponse['supported_lifecycles']),
      xkey: agent.request.public_xkey,
    };
    this.respond(msg, response);
  }

  private async answerDeploy(msg: ServiceMsg): Promise<void> {
    const bidderId = controlSubjectParts(msg.subject).target;
    const expires = this.bids.get(bidderId);
    if (expires === undefined || expires <= Date.now()) {
      return; // not this node's bid, or expired
    }
    const request = this.decodeInNamespace<StartWorkloadRequest>(msg, GO_TYPES.StartWorkloadRequest, 'failed to unmarshal auction deploy workload request');
    if (!request) {
      return;
    }
    const agent = this.healthyAgentOfType(request.workload_type);
    if (!agent) {
      respondNodeError(msg, 404, 'workload type not found', 'workload type not found');
      return;
    }
    let runRequest: unknown;
    try {
      runRequest = goJsonParse(request.run_request ?? '', 'decoder');
    } catch (e) {
      respondNodeError(msg, 400, 'failed to unmarshal start request', (e as Error).message);
      return;
    }
    const invalid = agent.schema.validate(runRequest);
    if (invalid !== undefined) {
      this.log('warn', `deploy of ${request.name ?? ''} refused: ${invalid}`);
      respondNodeError(msg, 400, 'failed to validate run request', invalid);
      return;
    }
    const workloadId = nuid.next();
    // Re-marshalled as the Go struct: every field, nulls of strings as "".
    const forwarded: StartWorkloadRequest = {
      description: request.description ?? '',
      name: request.name ?? '',
      namespace: request.namespace ?? '',
      run_request: request.run_request ?? '',
      tags: request.tags,
      workload_lifecycle: request.workload_lifecycle,
      workload_type: request.workload_type ?? '',
    };
    let reply: Msg;
    try {
      reply = await this.nc.request(agent04.startWorkload(this.nodeId, agent.id, workloadId), goJson({ request: forwarded, workload_creds: this.connectionData() }), { timeout: 60_000 });
    } catch (e) {
      this.log('warn', `deploy of ${forwarded.name}: agent ${agent.id} did not answer STARTWORKLOAD: ${(e as Error).message}`);
      respondNodeError(msg, 500, 'failed to publish start workload request', (e as Error).message);
      return;
    }
    const passed = natsHeaders();
    for (const key of reply.headers?.keys() ?? []) {
      for (const value of reply.headers!.values(key)) {
        passed.append(key, value);
      }
    }
    msg.respond(reply.data, (reply.headers ? { headers: passed } : undefined) as unknown as Parameters<ServiceMsg['respond']>[1]);
    const failed = reply.headers?.get(SERVICE_ERROR_HEADER);
    if (failed) {
      this.log('warn', `deploy of ${forwarded.name} in ${forwarded.namespace}: agent ${agent.request.name} refused it: ${failed}`);
      return;
    }
    let id = workloadId;
    try {
      id = (JSON.parse(new TextDecoder().decode(reply.data)) as { id?: string }).id || workloadId;
    } catch {
      // the agent's body is passed on as it is; the node's bookkeeping keeps the id it chose
    }
    this.deployed.set(id, { id, name: forwarded.name, namespace: forwarded.namespace, type: forwarded.workload_type });
    this.log('info', `deployed ${forwarded.workload_type} workload ${forwarded.name} (${id}) in ${forwarded.namespace} on agent ${agent.request.name}`);
    this.changed();
  }

  private async answerUndeploy(msg: ServiceMsg): Promise<void> {
    const workloadId = controlSubjectParts(msg.subject).target;
    const request = this.decodeInNamespace<StopWorkloadRequest>(msg, GO_TYPES.StopWorkloadRequest, 'failed to unmarshal stop workload request');
    if (!request) {
      return;
    }
    let response: StopWorkloadResponse = { id: workloadId, message: 'workload not found', stopped: false, workload_type: '' };
    if (this.agents.size === 0) {
      // 0.4.1 sends this reply and then crashes (a nil iterator): the local node only says so.
      this.log('warn', `UNDEPLOY ${workloadId} with no agent registered: answered "workload not found" (a 0.4.1 node crashes here)`);
      this.respond(msg, response);
      return;
    }
    const stoppedReply = (m: Msg): StopWorkloadResponse | undefined => {
      try {
        const body = JSON.parse(new TextDecoder().decode(m.data)) as unknown;
        return body !== null && typeof body === 'object' && (body as StopWorkloadResponse).stopped === true ? (body as StopWorkloadResponse) : undefined;
      } catch {
        return undefined;
      }
    };
    const replies = await this.fanOut(agent04.stopWorkload(this.nodeId, workloadId), msg.data, this.agents.size, (m) => stoppedReply(m) !== undefined);
    const stopped = replies.map(stoppedReply).find((r) => r !== undefined);
    if (stopped) {
      response = { ...response, ...stopped };
    }
    this.respond(msg, { id: response.id, message: response.message, stopped: response.stopped, workload_type: response.workload_type });
    if (stopped && this.deployed.delete(workloadId)) {
      this.log('info', `undeployed ${workloadId} in ${request.namespace}`);
      this.changed();
    }
  }

  private async answerClone(msg: ServiceMsg): Promise<void> {
    const workloadId = controlSubjectParts(msg.subject).target;
    const request = this.decodeInNamespace<CloneWorkloadRequest>(msg, GO_TYPES.CloneWorkloadRequest, 'failed to unmarshal clone workload request');
    if (!request) {
      return;
    }
    let reply: Msg;
    try {
      reply = await this.nc.request(agent04.getWorkload(this.nodeId, workloadId), msg.data, { timeout: 3000 });
    } catch {
      return; // nobody has it: silent, as 0.4.1
    }
    if (reply.headers?.get(SERVICE_ERROR_HEADER) === 'workload not found') {
      return;
    }
    msg.respond(reply.data);
  }

  private async answerWorkloadPing(msg: ServiceMsg): Promise<void> {
    const request = this.decodeInNamespace<AgentListWorkloadsRequest>(msg, GO_TYPES.AgentListWorkloadsRequest, 'failed to unmarshal ping request');
    if (!request) {
      return;
    }
    if (this.agents.size === 0) {
      // 0.4.1 (and HEAD) cannot ask zero agents: natsext.RequestMany refuses a maximum of 0.
      respondNodeError(msg, 500, 'failed to publish query workloads request', 'no agents registered');
      return;
    }
    const replies = await this.fanOut(agent04.queryWorkloads(this.nodeId), msg.data, this.agents.size);
    const merged: WorkloadSummary[] = [];
    for (const reply of replies) {
      const list = workloadList(reply.data);
      if (list) {
        merged.push(...list);
      } else {
        this.log('warn', `WPING: dropped a QUERYWORKLOADS reply that is not a list of workload summaries (0.4.1 drops it whole too): ${new TextDecoder().decode(reply.data).slice(0, 200)}`);
      }
    }
    this.respond(msg, merged);
  }

  /** Stops answering: the micro service, NODESTOPPED, timers and heartbeat subscriptions. The connection stays open (its owner closes it). */
  async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    this.state = 'stopping';
    clearInterval(this.heartbeat);
    clearInterval(this.healthMonitor);
    clearTimeout(this.lameDuckTimer);
    for (const agent of this.agents.values()) {
      agent.heartbeatSub.unsubscribe();
    }
    await this.service?.stop().catch(() => undefined);
    this.emit('NODESTOPPED', { id: this.nodeId });
    if (!this.nc.isClosed()) {
      await this.nc.flush().catch(() => undefined);
    }
    this.log('info', `local Nex node ${this.nodeId} stopped`);
    this.changed();
  }
}

/**
 * A QUERYWORKLOADS reply as 0.4.1's merge decodes it (models.AgentListWorkloadsResponse): a list of
 * WorkloadSummary, each with its required keys and `metadata` string values; undefined when any
 * part does not fit (the whole reply is then dropped).
 */
function workloadList(data: Uint8Array): WorkloadSummary[] | undefined {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (body === null) {
    return [];
  }
  if (!Array.isArray(body)) {
    return undefined;
  }
  const required = ['id', 'name', 'runtime', 'start_time', 'tags', 'workload_lifecycle', 'workload_state', 'workload_type'];
  for (const item of body) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return undefined;
    }
    const w = item as Record<string, unknown>;
    if (!required.every((k) => k in w)) {
      return undefined;
    }
    if (w.metadata !== undefined && w.metadata !== null && (typeof w.metadata !== 'object' || Object.values(w.metadata as object).some((v) => typeof v !== 'string' && v !== null))) {
      return undefined;
    }
  }
  return body as WorkloadSummary[];
}

function withScheme(server: string): string {
  return /^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`;
}
