/**
 * Nex 0.4 subjects (reference nex-0.4-protocol.md, "The protocol in one page"): the node's control
 * API under `$NEX.SVC.<ns>.control.*`, the agent (nexlet) API under `$NEX.SVC.<node>.agent.*`, and
 * the feeds under `$NEX.FEED.*`. One table for the nexlet, the local node's 0.4.1 mode and clients.
 */

export const SVC_PREFIX = '$NEX.SVC';
export const FEED_PREFIX = '$NEX.FEED';
/** The namespace of the node-wide control endpoints (PING, INFO, LAMEDUCK…) and the `nex` CLI's default. */
export const SYSTEM_NAMESPACE = 'system';

/** What a node subscribes (the namespace `*` for the workload endpoints) and what a client sends to. */
export const control04 = {
  ping: (): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.PING`,
  pingNode: (nodeId: string): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.PING.${nodeId}`,
  tags: (): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.PTAGS`,
  info: (nodeId: string): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.INFO.${nodeId}`,
  lameDuck: (nodeId: string): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.LAMEDUCK.${nodeId}`,
  agentId: (nodeId: string): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.AGENTID.${nodeId}`,
  heartbeat: (nodeId: string): string => `${SVC_PREFIX}.${SYSTEM_NAMESPACE}.control.HEARTBEAT.${nodeId}`,
  auction: (namespace: string): string => `${SVC_PREFIX}.${namespace}.control.AUCTION`,
  deploy: (namespace: string, bidderId: string): string => `${SVC_PREFIX}.${namespace}.control.ADEPLOY.${bidderId}`,
  undeploy: (namespace: string, workloadId: string): string => `${SVC_PREFIX}.${namespace}.control.UNDEPLOY.${workloadId}`,
  clone: (namespace: string, workloadId: string): string => `${SVC_PREFIX}.${namespace}.control.CLONE.${workloadId}`,
  workloadPing: (namespace: string): string => `${SVC_PREFIX}.${namespace}.control.WPING`,
};

/** The agent API: what a nexlet registers with and serves (queue group = its agent id). */
export const agent04 = {
  remoteRegister: (nexus: string): string => `${SVC_PREFIX}.${nexus}.agent.RREGISTER`,
  register: (nodeId: string, agentId: string): string => `${SVC_PREFIX}.${nodeId}.agent.REGISTER.${agentId}`,
  heartbeat: (nodeId: string, agentId: string): string => `${SVC_PREFIX}.${nodeId}.agent.HEARTBEAT.${agentId}`,
  startWorkload: (nodeId: string, agentId: string, workloadId: string): string => `${SVC_PREFIX}.${nodeId}.agent.${agentId}.STARTWORKLOAD.${workloadId}`,
  stopWorkload: (nodeId: string, workloadId: string): string => `${SVC_PREFIX}.${nodeId}.agent.STOPWORKLOAD.${workloadId}`,
  getWorkload: (nodeId: string, workloadId: string): string => `${SVC_PREFIX}.${nodeId}.agent.GETWORKLOAD.${workloadId}`,
  queryWorkloads: (nodeId: string): string => `${SVC_PREFIX}.${nodeId}.agent.QUERYWORKLOADS`,
  pingAgent: (nodeId: string, agentId: string): string => `${SVC_PREFIX}.${nodeId}.agent.${agentId}.PING`,
  pingAllAgents: (nodeId: string): string => `${SVC_PREFIX}.${nodeId}.agent.PING`,
  setLameDuck: (nodeId: string): string => `${SVC_PREFIX}.${nodeId}.agent.SETLAMEDUCK`,
};

/** The feeds: events `$NEX.FEED.<from>.events.<TYPE>` (from = node id for node events, the namespace for workload events), logs and metrics. */
export const feed04 = {
  event: (from: string, type: string): string => `${FEED_PREFIX}.${from}.events.${type}`,
  allEvents: (): string => `${FEED_PREFIX}.*.events.>`,
  logs: (namespace: string, workloadId: string, stream: 'stdout' | 'stderr'): string => `${FEED_PREFIX}.${namespace}.logs.${workloadId}.${stream}`,
  namespaceLogs: (namespace: string): string => `${FEED_PREFIX}.${namespace}.logs.>`,
  metrics: (namespace: string, workloadId: string): string => `${FEED_PREFIX}.${namespace}.metrics.${workloadId}`,
};
