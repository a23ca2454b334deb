/** The local node's configuration, with a real node's defaults where they matter to functions. */
import * as os from 'os';
import { CompatProfile } from '../core/compat';
import { NexProtocolVersion } from '../nex/controlTypes';

/** The Nex version the node behaves as; '0.4.1' is a separate node (localNode04.ts) that runs nothing itself: nexlets register with it. */
export type EmulatedVersion = '0.2.7' | '0.3.0' | '0.4.1';
export const EMULATED_VERSIONS: readonly EmulatedVersion[] = ['0.2.7', '0.3.0', '0.4.1'];

export interface NodeConfig {
  emulate: EmulatedVersion;
  /** The `node_name` tag (a real node picks a random one). */
  nodeName: string;
  /** The cluster name in PING (`nex node up --nexus`, default "nexus"). */
  nexus: string;
  /** Allowed workload types; a real node's default is ["native"], the local node runs functions only. */
  workloadTypes: string[];
  /** Trigger subjects refused besides $SYS.>, $JS.> and $NEX.>. */
  denyTriggerSubjects: string[];
  /** When not empty, only these issuers may deploy. */
  validIssuers: string[];
  /** 0 = unlimited, as `node_limits`. */
  maxWorkloads: number;
  maxWorkloadBytes: number;
  maxTotalBytes: number;
  /** More tags, merged over the node's own. */
  tags: Record<string, string>;
  /** JetStream domain used to fetch artifacts when the request names none. */
  jsDomain?: string;
  /** How often the heartbeat event goes out (30 s on a real node). */
  heartbeatMs: number;
}

export function defaultNodeConfig(overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    emulate: '0.2.7',
    nodeName: localNodeName('local'),
    nexus: 'nexus',
    workloadTypes: ['v8', 'wasm'],
    denyTriggerSubjects: [],
    validIssuers: [],
    maxWorkloads: 0,
    maxWorkloadBytes: 0,
    maxTotalBytes: 0,
    tags: {},
    heartbeatMs: 30000,
    ...overrides,
  };
}

/**
 * A `node_name` people can tell apart: who started the node and on which machine, e.g.
 * "vscode-devbox" for the editor's local node and "nexfn-devbox" for `nexfn node`.
 */
export function localNodeName(startedBy: 'vscode' | 'nexfn' | 'local', hostname: string = os.hostname()): string {
  return `${startedBy}-${hostname.replace(/[^a-zA-Z0-9_-]/g, '-').toLowerCase()}`;
}

/** The wire protocol of an emulated version. */
export function protocolOf(version: EmulatedVersion): NexProtocolVersion {
  return version === '0.3.0' ? '0.3' : '0.2';
}

/** The compatibility profile functions run with on a node of this version. */
export function compatOf(version: EmulatedVersion): CompatProfile {
  return version === '0.3.0' ? '0.3' : '0.2';
}

export { formatGoDuration, formatUptime } from '../nex/uptime';

