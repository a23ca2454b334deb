/**
 * The JSON bodies of the Nex control API (pre-1.0 nodes), with the exact wire field names of
 * `control-api/types.go`, `run.go` and `stop.go` at tags 0.2.7 and 0.3.0-rc1 (the wire format of
 * ec4c2b4 is the same). Fields are listed in the Go struct order, which is the order Go writes them.
 * "omitempty" means Go leaves the field out when it is empty; a client may do the same.
 */

/** The two pre-1.0 wire formats this project speaks; a node's PingResponse/InfoResponse `version` tells which. */
export type NexProtocolVersion = '0.2' | '0.3';

/**
 * A workload type string. Functions are `v8` (JavaScript) and `wasm` (WASI command); services are
 * `native` (`elf` before 0.2.4); `oci` is declared but not implemented; 0.3 accepts plugin types as
 * free strings.
 */
export type WorkloadType = string;

/** The workload types that are functions: triggered by subjects, never essential. */
export type FunctionType = 'v8' | 'wasm';

/**
 * A node's answer to PING (`$NEX.PING`, `$NEX.PING.<node>`), 0.2.x and 0.3.x alike. Enough to build
 * a deploy: `node_id` is the subject token and `target_xkey` the environment's recipient.
 */
export interface PingResponse {
  /** The node's server nkey (N…, 56 chars); new on every `nex node up`, so never cache it. */
  node_id: string;
  /** Omitempty: the cluster name from `nex node up --nexus` (default `nexus`). */
  nexus?: string;
  /** E.g. `0.2.7`, or `development` for source builds: the way to tell the wire format. */
  version: string;
  /** NATS-server style duration, e.g. `2m26s`, `1d2h3m4s`. */
  uptime: string;
  /** The node's curve public key (X…) to seal the deploy environment to; new on every start. */
  target_xkey: string;
  /** Omitempty. Always has `nex.os`, `nex.arch`, `nex.cpucount`; `nex.unsafe` without sandbox, `nex.lameduck` after lame duck. */
  tags?: Record<string, string>;
  running_machines: number;
}

/** A node's answer to AUCTION: the PingResponse shape (Go `type AuctionResponse PingResponse`). */
export type AuctionResponse = PingResponse;

/**
 * The body of `$NEX.AUCTION`; every field optional. A node stays silent unless it matches all given
 * filters: `arch`/`os` against its `nex.arch`/`nex.os` tags (case-insensitive), `sandboxed` against
 * `!no_sandbox`, every tag equal, every type in its `workload_types`. A body that is not JSON (e.g.
 * empty) means "no filter"; JSON `null` crashes a 0.2.7 node.
 */
export interface AuctionRequest {
  arch?: string;
  os?: string;
  sandboxed?: boolean;
  tags?: Record<string, string>;
  workload_types?: WorkloadType[];
}

/** One workload in a WorkloadPingResponse. */
export interface WorkloadPingMachineSummary {
  /** The node-local workload id (an `rs/xid`, 20 chars). */
  id: string;
  namespace: string;
  name: string;
  type: WorkloadType;
}

/**
 * A node's answer to WPING (`$NEX.WPING.<ns>[.<workloadIdOrName>]`); only nodes with matches answer.
 * The match is namespace equality, then id equality or case-insensitive name equality.
 */
export interface WorkloadPingResponse {
  node_id: string;
  target_xkey: string;
  version: string;
  /** Omitempty. */
  tags?: Record<string, string>;
  uptime: string;
  running_machines: WorkloadPingMachineSummary[];
}

/** Memory of the node's host, in kB from /proc/meminfo. */
export interface MemoryStat {
  total: number;
  free: number;
  available: number;
}

/** The workload part of a MachineSummary (0.3 adds `id`, `essential`, `uptime`). */
export interface WorkloadSummary {
  /** 0.3 only. */
  id?: string;
  name: string;
  /** Omitempty. */
  description?: string;
  /** 0.3 only. */
  essential?: boolean;
  /** Hex SHA-256 of the artifact, computed by the node. */
  hash: string;
  /** For v8/wasm: cumulative function execution time (e.g. `350ms`); for services the uptime (0.3: `--`). */
  runtime: string;
  /** 0.3 only. */
  uptime?: string;
  type: WorkloadType;
}

/** One running workload in an InfoResponse. */
export interface MachineSummary {
  /** The workload id, an `rs/xid` string such as `cmjud7n52omhlsa377cg`. */
  id: string;
  /** Always true. */
  healthy: boolean;
  uptime: string;
  /** Omitempty. */
  namespace?: string;
  workload: WorkloadSummary;
}

/**
 * A node's answer to INFO (`$NEX.INFO.<ns>.<node>`). Go writes the 0.2.7 fields in this order; 0.3
 * reorders them and adds `available_agents` and `allow_duplicate_workloads`.
 */
export interface InfoResponse {
  version: string;
  uptime: string;
  /** The node's curve public key (X…): the same key as PingResponse.target_xkey. */
  public_xkey: string;
  /** Omitempty. */
  tags?: Record<string, string>;
  /** Omitempty. */
  memory?: MemoryStat;
  /** Only the workloads of the subject's namespace. */
  machines: MachineSummary[];
  /** Omitempty: the node's `workload_types` config; the default config allows only `native`. */
  supported_workload_types?: WorkloadType[];
  /** 0.3 only: the size of the warm agent pool. */
  available_agents?: number;
  /** 0.3 only, omitempty: whether an identical artifact may be deployed twice in a namespace. */
  allow_duplicate_workloads?: boolean;
}

/**
 * The `data` of a successful DEPLOY reply (`run_response`). 0.3 writes `started` last; the values
 * are the same.
 */
export interface RunResponse {
  started: boolean;
  /** The node-local workload id (an `rs/xid`), not the 0.3 request id: use it for STOP, logs and events. */
  id: string;
  /** The workload JWT's `iss`. */
  issuer: string;
  /** The workload name. */
  name: string;
}

/** The body of `$NEX.STOP.<ns>.<node>` at 0.2.x. */
export interface StopRequest02 {
  workload_id: string;
  /** A fresh generic JWT with `sub` = workload name, signed by the issuer of the deploy, not in its `iat` second. */
  workload_jwt: string;
  target_node: string;
}

/** The body of `$NEX.STOP.<ns>.<node>` at 0.3.x. */
export interface StopRequest03 {
  node_id: string;
  workload_id: string;
  /** A fresh generic JWT with `sub` = workload id, signed by the issuer of the deploy, not in its `iat` second. */
  workload_jwt: string;
}

export type StopRequest = StopRequest02 | StopRequest03;

/** The `data` of a successful STOP reply (`stop_response`); 0.3 has no `name` and writes `stopped` last. */
export interface StopResponse {
  stopped: boolean;
  id: string;
  issuer: string;
  /** 0.2.x only. */
  name?: string;
}

/** The `data` of a LAMEDUCK reply; after it the node refuses deploys. */
export interface LameDuckResponse {
  node_id: string;
  success: boolean;
}

/**
 * A NATS connection with JWT credentials (Go `NatsJwtConnectionInfo`). In a deploy body it overrides,
 * for one workload, the node's host-services connection (which also carries the trigger
 * subscriptions from 0.2.x): `host_services` at 0.2.x, `host_services_config` at 0.3.x.
 */
export interface NatsJwtConnectionInfo {
  nats_url: string;
  nats_user_jwt: string;
  nats_user_seed: string;
}

/**
 * A Go `net/url.URL` as encoding/json writes it: the struct's exported fields (URL has no JSON or
 * text marshaller). The deploy `location` has this shape; see location.ts.
 */
export interface GoUrl {
  Scheme: string;
  Opaque: string;
  /** A Go *Userinfo; null when the URL has none. */
  User: null;
  Host: string;
  Path: string;
  RawPath: string;
  OmitHost: boolean;
  ForceQuery: boolean;
  RawQuery: string;
  Fragment: string;
  RawFragment: string;
}

/**
 * The body of `$NEX.DEPLOY.<ns>.<node>` at 0.2.x (read at 0.2.7). A 0.2.7 node dereferences
 * `description`, `location`, `workload_jwt`, `environment`, `sender_public_key` and `target_node`
 * without checking them: a body without one of them gets no reply at all.
 */
export interface DeployRequest02 {
  /** Omitempty; not used by v8/wasm. */
  argv?: string[];
  /** Always send a string, even "". */
  description: string;
  /** `native`, `v8` or `wasm`; must be in the node's `workload_types`. */
  type: WorkloadType;
  /** Where the node fetches the artifact: `Host` = object-store bucket, `Path` = "/" + key. A string fails to unmarshal. */
  location: GoUrl;
  /** Omitempty; must be false or absent for v8/wasm. */
  essential?: boolean;
  /** A generic JWT signed by the issuer: `sub` = workload name, `nats.hash` (never checked at 0.2.x). */
  workload_jwt: string;
  /** Base64 (std, padded) of the xkey-sealed JSON map[string]string, sealed to the node's xkey; always sent (seal `{}`). */
  environment: string;
  /** Omitempty: the JetStream domain of the artifact's object store. */
  jsdomain?: string;
  /** The sealer's curve public key (X…): the node opens the environment with it. */
  sender_public_key: string;
  /** The node id (N…); routing uses the subject, but 0.2.7 dereferences this field. */
  target_node: string;
  /** Omitempty in Go, but required (≥1) for v8/wasm and refused for other types; wildcards allowed. */
  trigger_subjects?: string[];
  /** Omitempty: a separate connection for the trigger subscriptions. */
  trigger_connection?: NatsJwtConnectionInfo;
  /** Omitempty: set by the node itself when it redeploys an essential service. */
  retry_count?: number;
  /** Omitempty: RFC 3339, set by the node itself when it redeploys an essential service. */
  retried_at?: string;
  /** Omitempty: this workload's host-services (and trigger) connection instead of the node's. */
  host_services?: NatsJwtConnectionInfo;
}

/**
 * The body of `$NEX.DEPLOY.<ns>.<node>` at 0.3.x (0.3.0-rc1 and ec4c2b4). As 0.2.x, plus `hash`,
 * `id` and `workload_name`; `host_services` is renamed `host_services_config`; no `trigger_connection`.
 */
export interface DeployRequest03 {
  /** Omitempty; not used by v8/wasm. */
  argv?: string[];
  /** Always send a string, even "". */
  description: string;
  /** Hex SHA-256 of the artifact; the node refuses the deploy when it differs from the JWT's `nats.hash`. */
  hash: string;
  /** Where the node fetches the artifact: `Host` = object-store bucket, `Path` = "/" + key. */
  location: GoUrl;
  /** Omitempty; must be false or absent for v8/wasm. */
  essential?: boolean;
  /** Base64 (std, padded) of the xkey-sealed JSON map[string]string, sealed to the node's xkey; always sent (seal `{}`). */
  environment: string;
  /** The request id (a UUID), also the JWT `sub`. Not the workload id of the RunResponse. */
  id: string;
  /** Omitempty: the JetStream domain of the artifact's object store. */
  jsdomain?: string;
  /** Omitempty: set by the node itself when it redeploys an essential service. */
  retry_count?: number;
  /** Omitempty: RFC 3339, set by the node itself when it redeploys an essential service. */
  retried_at?: string;
  /** The sealer's curve public key (X…): the node opens the environment with it. */
  sender_public_key: string;
  /** The node id (N…); routing uses the subject. */
  target_node: string;
  /** Omitempty in Go, but required (≥1) for v8/wasm and refused for other types; wildcards allowed. */
  trigger_subjects?: string[];
  /** Omitempty: this workload's host-services (and trigger) connection instead of the node's. */
  host_services_config?: NatsJwtConnectionInfo;
  /** The workload name; the node checks the JWT's `nats.name` against `^[a-zA-Z0-9_-]+$`. */
  workload_name: string;
  /** A generic JWT signed by the issuer: `sub` = `id`, `nats.name` = workload name, `nats.hash` = `hash`. */
  workload_jwt: string;
  /** `native`, `v8`, `wasm` or a plugin type; must be in the node's `workload_types`. */
  type: WorkloadType;
}
