/**
 * The client side of the Nex control API: discovery by scatter-gather (PING, AUCTION, WPING: every
 * node that answers within a window) and the unary calls (INFO, DEPLOY, STOP, LAMEDUCK), each
 * reply's envelope opened with the node's own error text kept verbatim (NodeError).
 */
import { createInbox } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { controlSubjects, ENVELOPE_TYPES, goJson, NodeError, openEnvelope } from './controlApi';
import { AuctionRequest, AuctionResponse, DeployRequest02, DeployRequest03, InfoResponse, LameDuckResponse, PingResponse, RunResponse, StopRequest, StopResponse, WorkloadPingResponse } from './controlTypes';

/** How long discovery listens for answers (the `nex` CLI's devrun uses 750 ms). */
export const DISCOVERY_WINDOW_MS = 750;
/** Unary calls: the CLI's default is 2 s; a deploy fetches and checks the artifact, so it gets more. */
export const REQUEST_TIMEOUT_MS = 2000;
export const DEPLOY_TIMEOUT_MS = 15000;

/** One answer of a scatter-gather call, or why an answer could not be read. */
export type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/** Thrown when a unary call gets no answer: names the subject and what it means. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
}

export class NexControlClient {
  /** @param inboxPrefix the connection's inbox prefix, when it has one (discovery replies come there). */
  constructor(
    /** The connection the calls go over. */
    readonly nc: NatsConnection,
    /** Where discovery replies come (the 0.4 client takes the same). */
    readonly inboxPrefix?: string,
  ) {}

  /** Every node's PingResponse, as they answer within the window. */
  ping(windowMs = DISCOVERY_WINDOW_MS): Promise<Array<Answer<PingResponse>>> {
    return this.gather(controlSubjects.pingAll(), '', ENVELOPE_TYPES.ping, windowMs);
  }

  /** One node's PingResponse. */
  pingNode(nodeId: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<PingResponse> {
    return this.call(controlSubjects.pingNode(nodeId), '', ENVELOPE_TYPES.ping, timeoutMs);
  }

  /** The nodes that match the request (others stay silent). */
  auction(request: AuctionRequest, windowMs = DISCOVERY_WINDOW_MS): Promise<Array<Answer<AuctionResponse>>> {
    return this.gather(controlSubjects.auction(), goJson(request), ENVELOPE_TYPES.auction, windowMs);
  }

  /** Nodes running workloads of the namespace (and of that id or name, when given). */
  workloadPing(namespace: string, workloadIdOrName?: string, windowMs = DISCOVERY_WINDOW_MS): Promise<Array<Answer<WorkloadPingResponse>>> {
    return this.gather(controlSubjects.workloadPing(namespace, workloadIdOrName), '', ENVELOPE_TYPES.ping, windowMs);
  }

  info(namespace: string, nodeId: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<InfoResponse> {
    return this.call(controlSubjects.info(namespace, nodeId), '', ENVELOPE_TYPES.info, timeoutMs);
  }

  /** Sends a deploy body (see deployRequest.ts); throws NodeError with the node's text when it refuses. */
  deploy(namespace: string, nodeId: string, body: DeployRequest02 | DeployRequest03, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<RunResponse> {
    return this.call(controlSubjects.deploy(namespace, nodeId), goJson(body), ENVELOPE_TYPES.run, timeoutMs);
  }

  stop(namespace: string, nodeId: string, body: StopRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<StopResponse> {
    return this.call(controlSubjects.stop(namespace, nodeId), goJson(body), ENVELOPE_TYPES.stop, timeoutMs);
  }

  lameDuck(nodeId: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<LameDuckResponse> {
    return this.call(controlSubjects.lameDuck(nodeId), '', ENVELOPE_TYPES.lameDuck, timeoutMs);
  }

  private async call<T>(subject: string, body: string, type: string, timeoutMs: number): Promise<T> {
    let reply;
    try {
      reply = await this.nc.request(subject, body, { timeout: timeoutMs });
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      if (/no responders|503/i.test(message) || (e as Error).name === 'NoRespondersError') {
        throw new NoAnswerError(`no Nex node answers on ${subject}: the node is gone, or its id is out of date (node ids change when a node restarts)`);
      }
      if (/timeout/i.test(message) || (e as Error).name === 'TimeoutError') {
        throw new NoAnswerError(`no answer on ${subject} within ${timeoutMs} ms: the node may be busy or gone`);
      }
      throw e;
    }
    return openEnvelope<T>(reply.data, type);
  }

  /** Publishes with a fresh inbox and collects every answer within the window (there is no end marker). */
  private async gather<T>(subject: string, body: string, type: string, windowMs: number): Promise<Array<Answer<T>>> {
    const answers: Array<Answer<T>> = [];
    const inbox = createInbox(this.inboxPrefix);
    const sub = this.nc.subscribe(inbox, {
      callback: (err, msg) => {
        // The server's own "no responders" status (an empty 503 message, when no node subscribes at
        // all) is not a node's answer: a node always sends an envelope.
        if (err || msg.headers?.code === 503) {
          return;
        }
        try {
          answers.push({ ok: true, value: openEnvelope<T>(msg.data, type) });
        } catch (e) {
          answers.push({ ok: false, error: e instanceof NodeError ? `the node answered with an error: ${e.message}` : (e as Error).message });
        }
      },
    });
    try {
      await this.nc.flush();
      this.nc.publish(subject, body, { reply: inbox });
      await new Promise((resolve) => setTimeout(resolve, windowMs));
    } finally {
      sub.unsubscribe();
    }
    return answers;
  }
}
