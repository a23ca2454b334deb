/**
 * The client side of the Nex 0.4 control API that the explorer uses so far: which 0.4 nodes answer
 * a PING on the connection (`$NEX.SVC.system.control.PING`, every node answering once within the
 * discovery window), read with the same care as the 0.2 answers: an unreadable answer is a problem,
 * not a node.
 */
import { createInbox, type NatsConnection } from '@nats-io/nats-core';
import { readServiceReply } from './serviceErrors';
import { control04 } from './subjects';
import type { NodePingResponse } from './types';

export interface Node04Discovery {
  nodes: NodePingResponse[];
  /** Answers that could not be used, in words. */
  problems: string[];
}

/** The 0.4 nodes that answer PING within `windowMs` (with their tags, version and start time). */
export async function discoverNodes04(nc: NatsConnection, windowMs: number, inboxPrefix?: string): Promise<Node04Discovery> {
  const found: Node04Discovery = { nodes: [], problems: [] };
  const inbox = createInbox(inboxPrefix);
  const sub = nc.subscribe(inbox, {
    callback: (err, msg) => {
      if (err || msg.headers?.code === 503) {
        return; // the server's "no responders": no 0.4 node at all
      }
      try {
        const node = readServiceReply<NodePingResponse>(msg);
        if (typeof node?.node_id === 'string' && node.node_id !== '') {
          found.nodes.push(node);
        } else {
          found.problems.push(`an answer to ${control04.ping()} has no node_id`);
        }
      } catch (e) {
        found.problems.push(`an answer to ${control04.ping()} could not be used: ${(e as Error).message}`);
      }
    },
  });
  try {
    nc.publish(control04.ping(), JSON.stringify({ filter: null }), { reply: inbox });
    await new Promise((resolve) => setTimeout(resolve, windowMs));
  } finally {
    sub.unsubscribe();
  }
  return found;
}
