/**
 * Nex 0.4.1 request and reply bodies (models/*.json at tag 0.4.1), as plain JSON with Go's field
 * names. Where our side is the server (the local node's 0.4.1 mode, the functions nexlet), requests
 * are decoded with goDecode.ts against the descriptors here, so a malformed body gets the error text
 * a 0.4.1 node or the Go runner gives.
 */
import type { GoField } from './goDecode';

/** `nats_servers`, user JWT/seed… a node hands to a nexlet (RREGISTER, REGISTER) and to a workload (STARTWORKLOAD). */
export interface ConnectionData {
  conn_name: string;
  nats_servers: string[];
  nats_user_jwt: string;
  nats_user_name: string;
  nats_user_nkey: string;
  nats_user_password: string;
  nats_user_seed: string;
  tls_ca: string;
  tls_cert: string;
  tls_first: boolean;
  tls_key: string;
}

export type WorkloadLifecycle = 'service' | 'job' | 'function';
export const WORKLOAD_LIFECYCLES: readonly WorkloadLifecycle[] = ['service', 'job', 'function'];
export type WorkloadState = 'starting' | 'running' | 'warm' | 'stopping' | 'stopped' | 'error';
export const WORKLOAD_STATES: readonly WorkloadState[] = ['starting', 'running', 'warm', 'stopping', 'stopped', 'error'];

export interface NodePingRequest {
  filter: Record<string, string> | null;
}
export interface NodePingResponse {
  agent_count: number;
  node_id: string;
  start_time: string;
  state: 'running' | 'lameduck' | 'stopping';
  tags: Record<string, string>;
  version: string;
  xkey: string;
}

export interface AgentSummary {
  name: string;
  start_time: string;
  state: string;
  /** One comma-separated string ("function"), not a list: a list makes the node drop the heartbeat. */
  supported_lifecycles: string;
  type: string;
  version: string;
  workload_count: number;
}

export interface NodeAgentSummary {
  agent_health: string;
  agent_health_stoplight: string;
  agent_id: string;
  agent_last_heartbeat_time: string;
  agent_summary: AgentSummary;
}

export interface NodeInfoResponse {
  node_agent_summaries?: NodeAgentSummary[];
  node_id: string;
  tags: Record<string, string>;
  /** A Go duration, e.g. `1m2.5s`. */
  uptime: string;
  version: string;
  xkey: string;
}

export interface LameduckRequest {
  delay: string;
  tag?: Record<string, string>;
}
export interface LameduckResponse {
  message: string;
  success: boolean;
}

export interface AuctionRequest {
  agent_type: string;
  auction_id: string;
  tags: Record<string, string>;
}
export interface AuctionResponse {
  bidder_id: string;
  /** A JSON Schema, as a string. */
  start_request_schema: string;
  supported_lifecycles: WorkloadLifecycle[];
  /** The agent's curve key, for clients that seal secrets in their run_request. */
  xkey: string;
}

export interface StartWorkloadRequest {
  description: string;
  name: string;
  namespace: string;
  /** The agent's start request, as a JSON string. */
  run_request: string;
  tags: Record<string, string>;
  workload_lifecycle: WorkloadLifecycle;
  workload_type: string;
}
export interface StartWorkloadResponse {
  id: string;
  name: string;
}

/** What a node sends a nexlet's STARTWORKLOAD. */
export interface AgentStartWorkloadRequest {
  request: StartWorkloadRequest;
  workload_creds: ConnectionData;
}

export interface StopWorkloadRequest {
  namespace: string;
}
export interface StopWorkloadResponse {
  id: string;
  message: string;
  stopped: boolean;
  workload_type: string;
}

export interface CloneWorkloadRequest {
  namespace: string;
  new_target_xkey: string;
}

export interface AgentListWorkloadsRequest {
  filter: string[] | null;
  namespace: string;
}

export interface WorkloadSummary {
  id: string;
  /** String values only: a list is written as text (the node drops a reply that breaks this). */
  metadata?: Record<string, string>;
  name: string;
  runtime: string;
  start_time: string;
  tags: Record<string, string> | null;
  workload_lifecycle: WorkloadLifecycle;
  workload_state: WorkloadState;
  workload_type: string;
}

export interface RegisterRemoteAgentResponse {
  assigned_agent_id: string;
  registration_creds: ConnectionData;
  respond_to: string;
}

export interface RegisterAgentRequest {
  description: string;
  max_workloads: number;
  name: string;
  public_xkey: string;
  register_type: string;
  /** A JSON Schema, as a string. */
  start_request_schema: string;
  supported_lifecycles?: WorkloadLifecycle[];
  version: string;
}
export interface RegisterAgentResponse {
  connection_data: ConnectionData;
  existing_state: Record<string, StartWorkloadRequest>;
  message: string;
  node_id: string;
  success: boolean;
}

export interface AgentHeartbeat {
  data: string;
  summary: AgentSummary;
}

/** How goDecode checks a request type: Go's type name (in messages) and its fields. */
export interface GoStruct {
  name: string;
  fields: Record<string, GoField>;
}

const str = (required = true) => ({ type: 'string' as const, required });
const strMap = (goType: string, required = true) => ({ type: 'map[string]string' as const, required, goType });

/** The request types a 0.4.1 node or nexlet decodes, with their required keys (models/*.json). */
export const GO_TYPES = {
  NodePingRequest: { name: 'NodePingRequest', fields: { filter: strMap('models.NodePingRequestFilter') } },
  LameduckRequest: { name: 'LameduckRequest', fields: { delay: str(), tag: strMap('models.LameduckRequestTag', false) } },
  AuctionRequest: { name: 'AuctionRequest', fields: { agent_type: str(), auction_id: str(), tags: strMap('models.NodeTags') } },
  StartWorkloadRequest: {
    name: 'StartWorkloadRequest',
    fields: {
      description: str(),
      name: str(),
      namespace: str(),
      run_request: str(),
      tags: strMap('models.NodeTags'),
      workload_lifecycle: { type: 'string', required: true, enum: WORKLOAD_LIFECYCLES },
      workload_type: str(),
    },
  },
  AgentStartWorkloadRequest: { name: 'AgentStartWorkloadRequest', fields: { request: { type: 'object', required: true }, workload_creds: { type: 'object', required: true } } },
  StopWorkloadRequest: { name: 'StopWorkloadRequest', fields: { namespace: str() } },
  CloneWorkloadRequest: { name: 'CloneWorkloadRequest', fields: { namespace: str(), new_target_xkey: str() } },
  AgentListWorkloadsRequest: { name: 'AgentListWorkloadsRequest', fields: { filter: { type: '[]string', required: true }, namespace: str() } },
  RegisterAgentRequest: {
    name: 'RegisterAgentRequest',
    fields: {
      description: str(),
      // float64 in the 0.4.1 model: 1.5 decodes.
      max_workloads: { type: 'float64', required: true },
      name: str(),
      public_xkey: str(),
      register_type: str(),
      start_request_schema: str(),
      supported_lifecycles: { type: '[]string', required: false, enum: WORKLOAD_LIFECYCLES, goType: '[]models.WorkloadLifecycle' },
      version: str(),
    },
  },
  /** A nexlet's heartbeat (models.AgentHeartbeat); `summary` is decoded as AgentSummary next. */
  AgentHeartbeat: { name: 'AgentHeartbeat', fields: { data: str(), summary: { type: 'object', required: true, goType: 'models.AgentSummary' } } },
  /** `supported_lifecycles` is ONE comma-separated string here: a list makes the heartbeat fail. */
  AgentSummary: {
    name: 'AgentSummary',
    fields: {
      name: str(),
      start_time: { type: 'time', required: true },
      state: str(),
      supported_lifecycles: str(),
      type: str(),
      version: str(),
      workload_count: { type: 'int', required: true },
    },
  },
} satisfies Record<string, GoStruct>;
