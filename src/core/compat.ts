/**
 * Compatibility profiles: which Nex behaviour a local run reproduces.
 * - docs: the documented contract (raw byte replies, hostServices API).
 * - 0.2: what a Nex 0.2.7 node does (JSON-stringified replies, hostServices with 0.2 errors).
 * - 0.3: what a Nex 0.3 node does (JSON-stringified replies, globals http/messaging/kv()/objectStore()).
 */
export type CompatProfile = 'docs' | '0.2' | '0.3';

export const COMPAT_PROFILES: readonly CompatProfile[] = ['docs', '0.2', '0.3'];
export const DEFAULT_COMPAT: CompatProfile = 'docs';

/** The largest JavaScript source a Nex node accepts (agent v8.go, every version). */
/**
 * The engine that runs a JavaScript function locally: QuickJS in the worker (the default, fast to
 * start), or V8 in a child process, the engine real nodes use (v8go): the one to debug with, and
 * much faster for CPU-heavy functions.
 */
export const JS_ENGINES = ['quickjs', 'v8'] as const;
export type JsEngine = (typeof JS_ENGINES)[number];

export function isJsEngine(value: unknown): value is JsEngine {
  return typeof value === 'string' && (JS_ENGINES as readonly string[]).includes(value);
}

export const NODE_JS_SOURCE_LIMIT = 12288;

export function isCompatProfile(value: unknown): value is CompatProfile {
  return typeof value === 'string' && (COMPAT_PROFILES as readonly string[]).includes(value);
}

export function describeProfile(profile: CompatProfile): string {
  switch (profile) {
    case 'docs':
      return 'documented contract';
    case '0.2':
      return 'as a Nex 0.2.7 node';
    case '0.3':
      return 'as a Nex 0.3 node';
  }
}

/** The KV bucket and object store a 0.2 node provisions for a workload (hs_${namespace}_${workload}_kv/_obj). */
export function defaultBucket(namespace: string, workload: string, kind: 'kv' | 'obj'): string {
  return `hs_${namespace}_${workload}_${kind}`;
}
