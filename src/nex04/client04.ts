/**
 * The client side of the Nex 0.4 control API (`$NEX.SVC.<ns>.control.*`, reference
 * nex-0.4-protocol.md), for the explorer, deploy and the CLI: discovery (PING, with tag filters),
 * INFO, LAMEDUCK, AUCTION, ADEPLOY, UNDEPLOY, CLONE and WPING. Every reply is read with
 * `readServiceReply`, so a node's error reaches the caller as a `Nex04Error` in the node's words;
 * an answer that cannot be used is a problem, never a node or a workload.
 *
 * Requests that several nodes answer (PING, AUCTION, WPING) collect replies on one inbox: until as
 * many as expected arrived, or the window closed. A 0.4.1 node answers WPING only after about 2 s (a
 * fan-out stall, reference "Odd behaviour"), so callers that know how many nodes there are say so
 * and get the answers as soon as the last one is in.
 */
import { createInbox, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { Nex04Error, readServiceReply } from './serviceErrors';
import { control04 } from './subjects';
import type {
  AuctionResponse,
  CloneWorkloadRequest,
  LameduckRequest,
  LameduckResponse,
  NodeInfoResponse,
  NodePingResponse,
  StartWorkloadRequest,
  StartWorkloadResponse,
  StopWorkloadResponse,
  WorkloadSummary,
} from './types';

export interface Node04Discovery {
  nodes: NodePingResponse[];
  /** Answers that could not be used, in words. */
  problems: string[];
}

/** One node's answer to WPING: its agents' workloads merged (the answer does not say which node it is). */
export interface WorkloadPingAnswer {
  workloads: WorkloadSummary[];
}

export interface WorkloadPing {
  answers: WorkloadPingAnswer[];
  /** Answers that could not be used (a node's error in its words, a body that is not a list). */
  problems: string[];
}

/** How long a 0.4 client listens for bids after the first one (the nex CLI: 1 s). */
export const AUCTION_SETTLE_MS = 1000;
/** How long an auction waits for a first bid (the nex CLI waits its whole 60 s timeout: far too long for an editor). */
export const AUCTION_WAIT_MS = 3000;
/** How long WPING waits for the nodes' answers (0.4.1 answers after about 2 s). */
export const WORKLOAD_PING_WAIT_MS = 3500;
/** ADEPLOY: a node gives its nexlet 1 min to start a workload. */
export const DEPLOY_TIMEOUT_MS = 60_000;
export const CONTROL_TIMEOUT_MS = 5000;
/** How long UNDEPLOY waits for the nodes (0.4.1 answers "not found" after about 2 s). */
export const UNDEPLOY_WAIT_MS = 4000;

/** Whether an error is the server's "no responders" (nobody subscribes the subject). */
export function isNoResponders(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  return err?.code === '503' || err?.code === 503 || /no responders/i.test(String(err?.message ?? ''));
}

export class Nex04Client {
  constructor(
    private readonly nc: NatsConnection,
    private readonly inboxPrefix?: string,
  ) {}

  /**
   * The 0.4 nodes that answer PING within `windowMs` (with their tags, version and start time);
   * with `filter`, only nodes carrying every one of those tags answer.
   */
  async discover(windowMs: number, filter?: Record<string, string>): Promise<Node04Discovery> {
    const found: Node04Discovery = { nodes: [], problems: [] };
    const replies = await this.collect(control04.ping(), { filter: filter && Object.keys(filter).length > 0 ? filter : null }, { maxWaitMs: windowMs });
    for (const msg of replies) {
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
    }
    return found;
  }

  /** A node's INFO: version, tags, uptime (a Go duration) and its nexlets (agent summaries). */
  async info(nodeId: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<NodeInfoResponse> {
    return this.request<NodeInfoResponse>(control04.info(nodeId), {}, timeoutMs, `node ${nodeId} did not answer INFO`);
  }

  /** Puts a node in lame duck mode: it stops after `delay` (a Go duration such as `30s` or `1m0s`). */
  async lameDuck(nodeId: string, delay: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<LameduckResponse> {
    const body: LameduckRequest = { delay };
    // 0.4.1 asks its agents first and answers after about 2 s.
    return this.request<LameduckResponse>(control04.lameDuck(nodeId), body, Math.max(timeoutMs, 4000), `node ${nodeId} did not answer LAMEDUCK`);
  }

  /**
   * The bids for a workload of `agentType` whose nodes carry every tag in `tags`: collected for
   * `settleMs` after the first one, or none after `waitMs` (nobody bids: no healthy nexlet of that
   * type on a node with those tags).
   */
  async auction(namespace: string, agentType: string, tags: Record<string, string>, options: { auctionId?: string; waitMs?: number; settleMs?: number } = {}): Promise<{ bids: AuctionResponse[]; problems: string[] }> {
    const body = { agent_type: agentType, auction_id: options.auctionId ?? createInbox('auction').split('.').pop()!, tags };
    const replies = await this.collect(control04.auction(namespace), body, { maxWaitMs: options.waitMs ?? AUCTION_WAIT_MS, settleMs: options.settleMs ?? AUCTION_SETTLE_MS });
    const bids: AuctionResponse[] = [];
    const problems: string[] = [];
    for (const msg of replies) {
      try {
        const bid = readServiceReply<AuctionResponse>(msg);
        if (typeof bid?.bidder_id === 'string' && bid.bidder_id !== '' && typeof bid.start_request_schema === 'string') {
          bids.push(bid);
        } else {
          problems.push(`a bid on ${control04.auction(namespace)} has no bidder_id or start_request_schema`);
        }
      } catch (e) {
        problems.push(`a bid on ${control04.auction(namespace)} could not be used: ${(e as Error).message}`);
      }
    }
    return { bids, problems };
  }

  /** ADEPLOY to the node that made the bid: the nexlet's `{id, name}`, or its error (Nex04Error, code 100) in its words. */
  async deploy(namespace: string, bidderId: string, request: StartWorkloadRequest, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<StartWorkloadResponse> {
    return this.request<StartWorkloadResponse>(control04.deploy(namespace, bidderId), request, timeoutMs, `no node answered ADEPLOY for bid ${bidderId} (a bid lives 10 s)`);
  }

  /**
   * UNDEPLOY in the workload's namespace. It reaches every node: the one that runs the workload
   * answers `stopped: true`, the others "workload not found" (a 0.4.1 node after a 2 s stall). The
   * answers are collected until one says it stopped, `expectedAnswers` came, or `waitMs` is over,
   * so an early "not found" from another node does not hide the stop; each is the reply as it came
   * (`stopped: false` with the node's message) or the node's error (Nex04Error).
   */
  async undeploy(namespace: string, workloadId: string, options: { expectedAnswers?: number; waitMs?: number } = {}): Promise<Array<StopWorkloadResponse | Error>> {
    const stopped = (msg: Msg) => {
      try {
        return readServiceReply<StopWorkloadResponse>(msg).stopped === true;
      } catch {
        return false;
      }
    };
    const replies = await this.collect(control04.undeploy(namespace, workloadId), { namespace }, { maxWaitMs: options.waitMs ?? UNDEPLOY_WAIT_MS, expected: options.expectedAnswers, enough: stopped });
    return replies.map((msg) => {
      try {
        return readServiceReply<StopWorkloadResponse>(msg);
      } catch (e) {
        return e as Error;
      }
    });
  }

  /**
   * CLONE: the stored start request of a workload, its sealed environment sealed again to
   * `newTargetXkey` by a nexlet that can (the functions nexlet does); undefined when no node knows it
   * (0.4.1 stays silent then).
   */
  async clone(namespace: string, workloadId: string, newTargetXkey: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<StartWorkloadRequest | undefined> {
    const body: CloneWorkloadRequest = { namespace, new_target_xkey: newTargetXkey };
    try {
      return await this.request<StartWorkloadRequest>(control04.clone(namespace, workloadId), body, timeoutMs, '');
    } catch (e) {
      if (e instanceof Nex04Error) {
        throw e;
      }
      return undefined;
    }
  }

  /**
   * WPING: every node's workloads in `namespace` (each answer is one node's, unnamed). With
   * `expectedAnswers` (the number of 0.4 nodes), it returns as soon as that many are in.
   */
  async workloads(namespace: string, options: { expectedAnswers?: number; maxWaitMs?: number } = {}): Promise<WorkloadPing> {
    const replies = await this.collect(control04.workloadPing(namespace), { filter: null, namespace }, { maxWaitMs: options.maxWaitMs ?? WORKLOAD_PING_WAIT_MS, expected: options.expectedAnswers });
    const result: WorkloadPing = { answers: [], problems: [] };
    for (const msg of replies) {
      try {
        const list = readServiceReply<unknown>(msg);
        if (!Array.isArray(list)) {
          result.problems.push(`an answer to ${control04.workloadPing(namespace)} is not a list of workloads`);
          continue;
        }
        result.answers.push({ workloads: list.filter(isWorkloadSummary) });
      } catch (e) {
        result.problems.push(`${control04.workloadPing(namespace)}: ${(e as Error).message}`);
      }
    }
    return result;
  }

  /** One answer, or a Nex04Error in the node's words; `silent` is the error when nobody answers in time. */
  private async request<T>(subject: string, body: unknown, timeoutMs: number, silent: string): Promise<T> {
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
    } catch (e) {
      if (isNoResponders(e)) {
        throw new Error(`${silent || subject}: nobody listens on ${subject} (no Nex 0.4 node on this connection?)`);
      }
      throw new Error(`${silent || subject}: no answer within ${Math.round(timeoutMs / 100) / 10} s`);
    }
    return readServiceReply<T>(msg);
  }

  /** Replies to one request on a fresh inbox: until `expected` arrived, one is `enough`, `settleMs` after the first, or `maxWaitMs`. */
  private async collect(subject: string, body: unknown, options: { maxWaitMs: number; settleMs?: number; expected?: number; enough?: (msg: Msg) => boolean }): Promise<Msg[]> {
    const replies: Msg[] = [];
    const inbox = createInbox(this.inboxPrefix);
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let settle: ReturnType<typeof setTimeout> | undefined;
    const sub = this.nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err || (msg.headers?.code === 503 && msg.data.length === 0)) {
          return; // the server's "no responders": no 0.4 node at all
        }
        replies.push(msg);
        if ((options.expected !== undefined && replies.length >= options.expected) || options.enough?.(msg)) {
          finish();
        } else if (options.settleMs !== undefined && settle === undefined) {
          settle = setTimeout(finish, options.settleMs);
        }
      },
    });
    const timer = setTimeout(finish, options.maxWaitMs);
    try {
      this.nc.publish(subject, JSON.stringify(body), { reply: inbox });
      await done;
    } finally {
      clearTimeout(timer);
      clearTimeout(settle);
      sub.unsubscribe();
    }
    return replies;
  }
}

function isWorkloadSummary(w: unknown): w is WorkloadSummary {
  const s = w as Partial<WorkloadSummary> | null;
  return typeof s === 'object' && s !== null && typeof s.id === 'string' && typeof s.name === 'string';
}

/** The 0.4 nodes that answer PING within `windowMs`. */
export function discoverNodes04(nc: NatsConnection, windowMs: number, inboxPrefix?: string): Promise<Node04Discovery> {
  return new Nex04Client(nc, inboxPrefix).discover(windowMs);
}
