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

// Go's encodings on the wire. A Nex node and the `nex` CLI are Go programs: their JSON comes from
// encoding/json and their base64 from encoding/base64. These two helpers give the same bytes and
// the same error texts, so a TS client sends what the Go CLI sends and a local node fails as a real one.

/** Characters encoding/json escapes by default (HTML-safe output) that JSON.stringify writes as they are. */
const GO_JSON_ESCAPED = /[<>&\u2028\u2029]/g;

/**
 * `value` as JSON the way Go's json.Marshal writes it: JSON.stringify (which keeps the key order
 * given, as Go does for struct fields) plus Go's escapes of `<`, `>`, `&`, U+2028 and U+2029. Those
 * characters only occur inside strings in JSON.stringify's output, so replacing them is safe.
 * Go writes map keys sorted: callers that marshal a Go map must sort the keys themselves.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(GO_JSON_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const BASE64_ALPHABETS = {
  std: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  rawurl: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
} as const;

/** Go's base64.CorruptInputError text. */
function corruptBase64(offset: number): Error {
  return new Error(`illegal base64 data at input byte ${offset}`);
}

/**
 * Decodes base64 as Go's `base64.StdEncoding` (std alphabet, `=` padding required) or
 * `base64.RawURLEncoding` (URL alphabet, no padding) does, with its error text
 * "illegal base64 data at input byte N" (N counts UTF-8 bytes, as Go does). A port of
 * encoding/base64 `decodeQuantum` (Go 1.22): CR and LF are skipped, trailing bits are ignored.
 */
export function decodeGoBase64(text: string, encoding: keyof typeof BASE64_ALPHABETS): Uint8Array {
  const alphabet = BASE64_ALPHABETS[encoding];
  const padded = encoding === 'std';
  const src = new TextEncoder().encode(text);
  const isNewline = (i: number) => src[i] === 0x0a || src[i] === 0x0d;
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const quantum: number[] = [];
    let trailingGarbage: Error | undefined;
    while (quantum.length < 4) {
      if (si === src.length) {
        if (quantum.length === 1 || (padded && quantum.length > 0)) {
          throw corruptBase64(si - quantum.length);
        }
        break;
      }
      const c = src[si++];
      const sextet = alphabet.indexOf(String.fromCharCode(c));
      if (sextet >= 0) {
        quantum.push(sextet);
        continue;
      }
      if (c === 0x0a || c === 0x0d) {
        continue;
      }
      if (!padded || c !== 0x3d || quantum.length < 2) {
        throw corruptBase64(si - 1);
      }
      if (quantum.length === 2) {
        while (si < src.length && isNewline(si)) si++;
        if (si === src.length) {
          throw corruptBase64(src.length);
        }
        if (src[si] !== 0x3d) {
          throw corruptBase64(si - 1);
        }
        si++;
      }
      while (si < src.length && isNewline(si)) si++;
      if (si < src.length) {
        trailingGarbage = corruptBase64(si);
      }
      break;
    }
    const bits = quantum.reduce((acc, sextet, i) => acc | (sextet << (18 - 6 * i)), 0);
    for (let i = 0; i < quantum.length - 1; i++) {
      out.push((bits >> (16 - 8 * i)) & 0xff);
    }
    if (trailingGarbage) {
      throw trailingGarbage;
    }
  }
  return Uint8Array.from(out);
}
