// Types for JavaScript Nex functions: the documented contract and Nex 0.2 nodes (profiles "docs"
// and "0.2"). The runtime is bare V8 (QuickJS locally): no require, process, timers, fetch,
// TextEncoder or TextDecoder. Host-service calls are synchronous and throw plain strings.

/** A Nex function: the last expression of the script. */
type NexFunction = (subject: string, payload: Uint8Array) => NexReply;
/** Under "docs": bytes as-is, a string as UTF-8, undefined/null = no reply, anything else as JSON. Nodes JSON-stringify every value. */
type NexReply = Uint8Array | ArrayBuffer | string | number | boolean | null | undefined | object;

interface NexObjectInfo {
  name: string;
  bucket: string;
  nuid: string;
  size: number;
  mtime: string;
  chunks: number;
  digest: string;
}

interface NexHttpResult {
  status: number;
  headers: Record<string, string>;
  /** The body as text; absent for head(). */
  response?: string | null;
}

interface NexHostServices {
  /** The function's own key-value bucket (hs_<namespace>_<name>_kv). */
  kv: {
    /** Throws "Error: OK (500)" on a 0.2 node when the key does not exist. */
    get(key: string): Uint8Array;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    keys(): string[];
  };
  messaging: {
    publish(subject: string, payload: Uint8Array): void;
    /** Throws when nobody answers. */
    request(subject: string, payload: Uint8Array): Uint8Array;
    /** Documented, but every node throws "this function isn't currently supported". */
    requestMany(subject: string, payload: Uint8Array): never;
  };
  /** The function's own object store (hs_<namespace>_<name>_obj). */
  objectStore: {
    get(name: string): Uint8Array;
    put(name: string, value: Uint8Array): NexObjectInfo;
    delete(name: string): void;
    list(): NexObjectInfo[];
  };
  /** Nodes drop the query string of the URL and time out after 2.5 s. */
  http: {
    get(url: string): NexHttpResult;
    post(url: string, body?: Uint8Array): NexHttpResult;
    put(url: string, body?: Uint8Array): NexHttpResult;
    patch(url: string, body?: Uint8Array): NexHttpResult;
    delete(url: string, body?: Uint8Array): NexHttpResult;
    head(url: string): NexHttpResult;
  };
}

declare const hostServices: NexHostServices;

/** Nodes discard console output; local runs show it. */
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
