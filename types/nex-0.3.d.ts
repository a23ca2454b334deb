// Types for JavaScript Nex functions on Nex 0.3 nodes (profile "0.3"). The runtime is bare V8
// (QuickJS locally): no require, process, timers, fetch, TextEncoder or TextDecoder. Host-service
// calls are synchronous and throw plain strings. Nodes JSON-stringify every return value.

/** A Nex function: the last expression of the script. */
type NexFunction = (subject: string, payload: Uint8Array) => NexReply;
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
  response?: string | null;
}

interface NexKeyValue {
  /** Throws "Error: failed to get value for key (500)" when the key does not exist. */
  get(key: string): Uint8Array;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  keys(): string[];
}

interface NexObjectStore {
  get(name: string): Uint8Array;
  put(name: string, value: Uint8Array): NexObjectInfo;
  delete(name: string): void;
  list(): NexObjectInfo[];
}

/** A key-value bucket by name; throws "bucket name is required" without one. */
declare function kv(bucket: string): NexKeyValue;
/** An object store by name; throws "bucket name is required" without one. */
declare function objectStore(bucket: string): NexObjectStore;

declare const messaging: {
  publish(subject: string, payload: Uint8Array): void;
  request(subject: string, payload: Uint8Array): Uint8Array;
  /** Every node throws "this function isn't currently supported". */
  requestMany(subject: string, payload: Uint8Array): never;
};

/** Nodes drop the query string of the URL and time out after 2.5 s. */
declare const http: {
  get(url: string): NexHttpResult;
  post(url: string, body?: Uint8Array): NexHttpResult;
  put(url: string, body?: Uint8Array): NexHttpResult;
  patch(url: string, body?: Uint8Array): NexHttpResult;
  delete(url: string, body?: Uint8Array): NexHttpResult;
  head(url: string): NexHttpResult;
};

/** Nodes discard console output; local runs show it. */
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
