/**
 * Nex 0.4 errors over NATS micro: a reply whose headers `Nats-Service-Error` (a description) and
 * `Nats-Service-Error-Code` (`400|403|404|500` from a node, `100` from a nexlet) say it failed, and
 * whose body is `{"error_id":"<nuid>","error":"<text>"}` from a node (`internal server error` for any
 * 5xx) or the nexlet's own reply body. Both the serving side (the reply) and the client side (the
 * error a user reads, in the node's words) are here.
 */
import { nuid, type Msg } from '@nats-io/nats-core';
import { goJson } from '../nex/controlApi';

export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
/** The code the Go SDK runner answers a failed agent request with. */
export const AGENT_ERROR_CODE = 100;

/** What an error reply needs of the micro request a handler answers (@nats-io/services' ServiceMsg has it). */
export interface ErrorResponder {
  respondError(code: number, description: string, data?: Uint8Array | string): boolean;
}

/** A node's error reply: the fixed description in the header, the cause in the body (`internal server error` for 5xx). */
export function respondNodeError(request: ErrorResponder, code: 400 | 403 | 404 | 500, description: string, cause: string): void {
  request.respondError(code, description, goJson({ error_id: nuid.next(), error: code >= 500 ? 'internal server error' : cause }));
}

/** A failed 0.4 request, with what the node or nexlet said: `message` is the body's error (else the header's description). */
export class Nex04Error extends Error {
  override name = 'Nex04Error';
  constructor(
    /** `Nats-Service-Error-Code`: 400, 403, 404, 500, or 100 from a nexlet. */
    readonly code: number,
    /** `Nats-Service-Error`: the node's fixed description. */
    readonly description: string,
    /** The body's `error`, when it has one. */
    readonly bodyError?: string,
    /** The body's `error_id`. */
    readonly errorId?: string,
  ) {
    super(bodyError && bodyError !== description ? `${description}: ${bodyError}` : description);
  }
}

/** The reply's body as JSON; throws Nex04Error when its headers say it is an error. */
export function readServiceReply<T>(msg: Msg): T {
  const description = msg.headers?.get(SERVICE_ERROR_HEADER);
  const code = msg.headers?.get(SERVICE_ERROR_CODE_HEADER);
  const text = new TextDecoder().decode(msg.data);
  if (description || code) {
    let body: { error?: unknown; error_id?: unknown } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw new Nex04Error(Number(code) || 500, description ?? '', typeof body?.error === 'string' ? body.error : undefined, typeof body?.error_id === 'string' ? body.error_id : undefined);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`the reply on ${msg.subject} is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
}
