/**
 * When a node that stopped answering counts as unreachable, and when it is forgotten: the same rules
 * for Nex 0.2/0.3 nodes (nodes02.ts) and Nex 0.4 nodes (nodes04.ts), whose PING and heartbeats
 * differ but whose silence means the same.
 */

/** A node as the silence rules see it. */
export interface HeardNode {
  id: string;
  /** Epoch ms of the last answer, heartbeat or event from it. */
  lastSeen: number;
  reachable: boolean;
  stateReason?: string;
}

export interface SilenceRules {
  /** Since when the connection is up: silence while it was down does not count. */
  connectedSince(): number;
  /** How long a node may stay silent (its heartbeat interval times the heartbeats it may miss). */
  silenceLimitMs: number;
  /** Whether the connection just came back: nodes' own connections may still be reconnecting. */
  inReconnectGrace(): boolean;
}

export function markUnreachable(node: HeardNode, reason: string): void {
  node.reachable = false;
  node.stateReason = reason;
}

/**
 * After a PING sent at `sentAt`: the nodes that did not answer and were not heard from since. Those
 * silent for longer than the limit are to be forgotten (a restarted node comes back under a new id,
 * so the old one would stay forever), the others are unreachable; none during a reconnect grace.
 */
export function silentAfterPing<N extends HeardNode>(nodes: Iterable<N>, answered: ReadonlySet<string>, sentAt: number, rules: SilenceRules): { forget: N[]; unreachable: N[] } {
  const result = { forget: [] as N[], unreachable: [] as N[] };
  if (rules.inReconnectGrace()) {
    return result;
  }
  for (const node of nodes) {
    if (answered.has(node.id) || node.lastSeen >= sentAt) {
      continue;
    }
    (Date.now() - Math.max(node.lastSeen, rules.connectedSince()) > rules.silenceLimitMs ? result.forget : result.unreachable).push(node);
  }
  return result;
}

/** The reachable nodes whose heartbeats stopped, with how long they have been silent (ms). */
export function missedHeartbeats<N extends HeardNode>(nodes: Iterable<N>, rules: Pick<SilenceRules, 'connectedSince' | 'silenceLimitMs'>, now = Date.now()): Array<{ node: N; silentFor: number }> {
  const silent: Array<{ node: N; silentFor: number }> = [];
  for (const node of nodes) {
    const silentFor = now - Math.max(node.lastSeen, rules.connectedSince());
    if (node.reachable && silentFor > rules.silenceLimitMs) {
      silent.push({ node, silentFor });
    }
  }
  return silent;
}
