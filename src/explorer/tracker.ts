/** What the deployed model gives each of its trackers (Nex02Tracker, Nex04Tracker). */
import type { NatsConnection } from '@nats-io/nats-core';

export interface TrackerOptions {
  nc: NatsConnection;
  inboxPrefix?: string;
  /** Every namespace the model reads, the connection's first. */
  namespaces: () => readonly string[];
  /** Whether the connection is up: nothing is read, and nobody is marked unreachable, while it is not. */
  connected: () => boolean;
  /** Since when it is up (epoch ms): heartbeats missed while it was down do not count. */
  connectedSince: () => number;
  /** Whether the connection just came back: nodes that did not answer yet are not marked unreachable (their own connections reconnect too). */
  inReconnectGrace: () => boolean;
  /** Something changed: the model tells its listeners (coalesced there). */
  onChange: () => void;
  discoveryWindowMs: number;
  infoTimeoutMs: number;
  /** A node that misses this many heartbeats in a row is unreachable. */
  missedHeartbeats: number;
}
