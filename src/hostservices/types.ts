/**
 * The host-services contract between a running function and whatever serves it (in-memory mocks
 * or a real NATS server). Results are semantic; how a failure looks to the function (the error
 * string a node throws) is decided per compatibility profile by the executor.
 */

export type HostServiceName = 'kv' | 'messaging' | 'objectStore' | 'http';

export type HostCall =
  | { service: 'kv'; method: 'get' | 'delete'; bucket: string; key: string }
  | { service: 'kv'; method: 'set'; bucket: string; key: string; value: Uint8Array }
  | { service: 'kv'; method: 'keys'; bucket: string }
  | { service: 'objectStore'; method: 'get' | 'delete'; bucket: string; name: string }
  | { service: 'objectStore'; method: 'put'; bucket: string; name: string; value: Uint8Array }
  | { service: 'objectStore'; method: 'list'; bucket: string }
  | { service: 'messaging'; method: 'publish' | 'request'; subject: string; payload: Uint8Array }
  | { service: 'http'; method: HttpMethod; url: string; body?: Uint8Array };

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
export const HTTP_METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete', 'head'];

export type HostFailureReason = 'notFound' | 'badRequest' | 'noResponders' | 'timeout' | 'unavailable' | 'error';

export type HostResult =
  | { ok: true; bytes?: Uint8Array; json?: unknown }
  | { ok: false; code: number; reason: HostFailureReason; message: string };

/** The object a node returns for objectStore.put/list (nats.go ObjectInfo JSON). */
export interface ObjectInfo {
  name: string;
  bucket: string;
  nuid: string;
  size: number;
  mtime: string;
  chunks: number;
  digest: string;
}

/** The HTTP result a node hands to JavaScript. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  response?: string | null;
}

export interface HostServicesBackend {
  /** Human-readable name for reports, e.g. "mock" or "nats://127.0.0.1:4222". */
  readonly kind: string;
  call(call: HostCall): Promise<HostResult>;
}

/** One host-service call as a run records it. */
export interface HostCallRecord {
  service: HostServiceName;
  method: string;
  /** The call's arguments, summarised for display (bytes as text or a size). */
  args: Record<string, string>;
  ok: boolean;
  /** The result, summarised for display. */
  result: string;
  durationMs: number;
  /** Line of the call in the function's source, when known. */
  line?: number;
}

export const ok = (bytes?: Uint8Array, json?: unknown): HostResult => ({ ok: true, bytes, json });
export const fail = (code: number, reason: HostFailureReason, message: string): HostResult => ({ ok: false, code, reason, message });

/** NATS KV key rules (nats.go validKeyRe): letters, digits and -/_=. ; no leading or trailing dot. */
export function kvKeyProblem(key: string): string | undefined {
  if (key === '') {
    return 'key is required';
  }
  if (!/^[-/_=.a-zA-Z0-9]+$/.test(key) || key.startsWith('.') || key.endsWith('.')) {
    return `invalid key "${key}": use letters, digits and - / _ = . (not at the start or end)`;
  }
  return undefined;
}
