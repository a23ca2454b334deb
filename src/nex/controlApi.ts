/**
 * The Nex control API on the wire (Nex 0.1.x–0.3.x, read at 0.2.7 `internal/node/controlapi.go`):
 * its subjects, envelope type strings and the envelope every reply is wrapped in. One module for
 * both sides, the deploy client and the local node, so they cannot drift apart.
 */

/** Every control subject starts with this (`control-api/types.go` APIPrefix). */
export const API_PREFIX = '$NEX';

/** The subjects a client sends to; a namespace is one subject token, never in the body. */
export const controlSubjects = {
  /** Scatter-gather: every node answers with a PingResponse. */
  pingAll: (): string => `${API_PREFIX}.PING`,
  pingNode: (nodeId: string): string => `${API_PREFIX}.PING.${nodeId}`,
  /** Scatter-gather: only nodes that match the AuctionRequest answer. */
  auction: (): string => `${API_PREFIX}.AUCTION`,
  /** Scatter-gather: nodes running matching workloads of the namespace answer. */
  workloadPing: (namespace: string, workloadIdOrName?: string): string => `${API_PREFIX}.WPING.${namespace}${workloadIdOrName ? `.${workloadIdOrName}` : ''}`,
  info: (namespace: string, nodeId: string): string => `${API_PREFIX}.INFO.${namespace}.${nodeId}`,
  deploy: (namespace: string, nodeId: string): string => `${API_PREFIX}.DEPLOY.${namespace}.${nodeId}`,
  stop: (namespace: string, nodeId: string): string => `${API_PREFIX}.STOP.${namespace}.${nodeId}`,
  lameDuck: (nodeId: string): string => `${API_PREFIX}.LAMEDUCK.${nodeId}`,
  /** Events of a namespace (node lifecycle events use the namespace "system"). */
  events: (namespace: string): string => `${API_PREFIX}.events.${namespace}.*`,
  /** Logs of a namespace: the token layout differs by version, so subscribe to all of them. */
  logs: (namespace: string): string => `${API_PREFIX}.logs.${namespace}.>`,
} as const;

/** The subjects a node subscribes to (with wildcards where the client fills in tokens). */
export const nodeSubscriptions = (nodeId: string) =>
  ({
    pingAll: `${API_PREFIX}.PING`,
    pingNode: `${API_PREFIX}.PING.${nodeId}`,
    auction: `${API_PREFIX}.AUCTION`,
    workloadPing: `${API_PREFIX}.WPING.>`,
    info: `${API_PREFIX}.INFO.*.${nodeId}`,
    deploy: `${API_PREFIX}.DEPLOY.*.${nodeId}`,
    stop: `${API_PREFIX}.STOP.*.${nodeId}`,
    lameDuck: `${API_PREFIX}.LAMEDUCK.${nodeId}`,
  }) as const;

/** The envelope `type` of each reply (WPING replies reuse the ping type). */
export const ENVELOPE_TYPES = {
  ping: 'io.nats.nex.v1.ping_response',
  auction: 'io.nats.nex.v1.auction_response',
  info: 'io.nats.nex.v1.info_response',
  run: 'io.nats.nex.v1.run_response',
  stop: 'io.nats.nex.v1.stop_response',
  lameDuck: 'io.nats.nex.v1.lameduck_response',
} as const;

/** Every control reply: `data` on success; `error` (and `data: ""`) on failure. */
export interface Envelope<T> {
  type: string;
  data?: T | '';
  error?: string;
}

/** The namespace token of a control subject (`$NEX.<VERB>.<namespace>.…`), as `extractNamespace` reads it. */
export function namespaceOf(subject: string): string | undefined {
  return subject.split('.')[2];
}

/** A reply envelope as a node sends it on success. */
export function successEnvelope<T>(type: string, data: T): Envelope<T> {
  return { type, data };
}

/** A reply envelope as a node's `respondFail` sends it: `data` is an empty Go []byte, marshalled as "". */
export function failureEnvelope(type: string, reason: string): Envelope<never> {
  return { type, data: '', error: reason };
}

/** Thrown by `openEnvelope` with the node's own error text, verbatim. */
export class NodeError extends Error {
  override name = 'NodeError';
  constructor(
    readonly nodeMessage: string,
    readonly envelopeType: string,
  ) {
    super(nodeMessage);
  }
}

/**
 * The data of a reply. Checks `error` first, as clients must; throws NodeError with the node's text,
 * or an Error that names what is wrong with a reply that is not an envelope of the expected type.
 */
export function openEnvelope<T>(bytes: Uint8Array, expectedType: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`the node's reply is not JSON (${(e as Error).message}); expected a ${expectedType} envelope`);
  }
  if (!parsed || typeof parsed !== 'object' || typeof (parsed as Envelope<T>).type !== 'string') {
    throw new Error(`the node's reply is not an envelope: expected {"type": "${expectedType}", "data": …}`);
  }
  const envelope = parsed as Envelope<T>;
  if (typeof envelope.error === 'string' && envelope.error !== '') {
    throw new NodeError(envelope.error, envelope.type);
  }
  if (envelope.type !== expectedType) {
    throw new Error(`the node replied with a ${envelope.type} envelope, expected ${expectedType}`);
  }
  if (envelope.data === undefined || envelope.data === '') {
    throw new Error(`the node's ${expectedType} envelope has no data`);
  }
  return envelope.data as T;
}
