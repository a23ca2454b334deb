/**
 * What the Nex 0.4 nodes say without being asked, read for the explorer: their heartbeats
 * (`$NEX.SVC.system.control.HEARTBEAT.<node>`, `{"registrations": "<agent> [<type>], …"}` every 10 s
 * on 0.4.1) and the feeds' events (`$NEX.FEED.<from>.events.<TYPE>`: the node's own from its id,
 * NODESTARTED/NODESTOPPED/NODELAMEDUCKSET; a nexlet's from the namespace, WORKLOADSTARTED/STOPPED).
 * Messages that are not JSON, or lack what they should say, are passed on with what can be read, or
 * not at all; nothing throws.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { control04, feed04 } from '../nex04/subjects';
import { asObject, asString, isToken, stringEntries } from '../core/jsonValues';

/** A nexlet's workload event. */
export interface WorkloadEvent04 {
  type: 'WORKLOADSTARTED' | 'WORKLOADSTOPPED';
  id?: string;
  /** The body's namespace, else the subject's. */
  namespace: string;
  /** The functions nexlet's `metadata.node`. */
  nodeId?: string;
}

export interface NodeFeedHandlers {
  heartbeat(nodeId: string, registrations: string | undefined): void;
  nodeStarted(nodeId: string | undefined): void;
  nodeStopped(nodeId: string): void;
  /** `stopsAt`: NODELAMEDUCKSET's `time`, when the node shuts down. */
  lameDuck(nodeId: string | undefined, stopsAt: string | undefined): void;
  workload(event: WorkloadEvent04): void;
}

/** Subscribes to the heartbeats and every feed's events; the handlers hear what they say. */
export async function followNodeFeeds04(nc: NatsConnection, on: NodeFeedHandlers): Promise<{ stop(): void }> {
  const subscribe = (subject: string, handle: (subject: string, body: Record<string, unknown>) => void): Subscription =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(new TextDecoder().decode(msg.data));
        } catch {
          body = undefined;
        }
        handle(msg.subject, asObject(body) ?? {});
      },
    });
  const subs = [
    subscribe(control04.heartbeat('*'), (subject, body) => {
      const id = subject.split('.').pop();
      if (isToken(id)) {
        on.heartbeat(id, asString(body.registrations));
      }
    }),
    subscribe(feed04.allEvents(), (subject, body) => event(subject, body, on)),
  ];
  await nc.flush().catch(() => undefined);
  return { stop: () => subs.forEach((s) => s.unsubscribe()) };
}

function event(subject: string, data: Record<string, unknown>, on: NodeFeedHandlers): void {
  const tokens = subject.split('.');
  const from = tokens[2];
  const type = tokens.slice(4).join('.');
  const nodeId = [data.id, from].find(isToken);
  switch (type) {
    case 'NODESTARTED':
      return on.nodeStarted(nodeId);
    case 'NODESTOPPED':
      return nodeId ? on.nodeStopped(nodeId) : undefined;
    case 'NODELAMEDUCKSET':
      return on.lameDuck(nodeId, asString(data.time));
    case 'WORKLOADSTARTED':
    case 'WORKLOADSTOPPED':
      return on.workload({
        type,
        ...(asString(data.id) ? { id: asString(data.id) } : {}),
        namespace: [data.namespace, from].find(isToken) ?? from,
        ...(isToken(stringEntries(data.metadata)?.node) ? { nodeId: stringEntries(data.metadata)!.node } : {}),
      });
  }
}
