/**
 * What the deploy client makes of a node's answers: the wire format its reported version speaks,
 * and its refusals, kept verbatim and followed by a hint for the common ones (reference §1.8, §11,
 * §9). The node's own text always comes first, so it can be searched for as the node wrote it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CompatProfile } from '../core/compat';
import { checkJsSource, type SourceProblem } from '../executor/sourceCheck';
import type { WorkerExecutor } from '../executor/workerExecutor';
import { NodeError } from '../nex/controlApi';
import type { NexProtocolVersion } from '../nex/controlTypes';

/**
 * The deploy/stop format of a node from the `version` of its PING: 0.2.x → '0.2', 0.3.x (rc
 * included) → '0.3'. Throws a clear error for anything else (0.1.x, the v1 rewrite, a source
 * build's "development"), unless `override` says which format the node takes.
 */
export function nodeProtocol(version: string, nodeId: string, override?: NexProtocolVersion): NexProtocolVersion {
  if (override) {
    return override;
  }
  const match = /^v?0\.([23])\./.exec(version);
  if (match) {
    return match[1] === '2' ? '0.2' : '0.3';
  }
  const why = version === 'development' ? 'a source build, which does not say which release it follows' : /^v?0\.1\./.test(version) ? '0.1.x nodes take an older format' : 'not a 0.2.x or 0.3.x release';
  throw new Error(`node ${nodeId} reports Nex version "${version}" (${why}): this client deploys to Nex 0.2.x and 0.3.x nodes; if the node speaks one of those, say which (--nex-version 0.2 or 0.3)`);
}

/** A refusal text the client has a hint for, and the hint. */
interface HintRule {
  pattern: RegExp;
  hint: (match: RegExpExecArray, context: RefusalContext) => string;
}

/** What the hints may name besides the node's text. */
export interface RefusalContext {
  nodeId: string;
  /** The issuer's public key (A…) that signed the request. */
  issuer?: string;
  /** Where the issuer key is kept. */
  issuerFile?: string;
}

const HINTS: HintRule[] = [
  {
    // A 0.2.7 node says "no responders" (reference §11); nats clients also say "jetstream (is) not enabled".
    pattern: /^Failed to cache workload bytes: (nats: no responders available for request|.*jetstream (is )?not enabled)/i,
    hint: () => 'the node found no JetStream to fetch the artifact from: start nats-server with -js (and give --jsdomain when the node reads JetStream in a domain)',
  },
  {
    pattern: /^Failed to cache workload bytes: nats: (stream|object) not found/,
    hint: () => "the node's JetStream does not hold the uploaded artifact: connect with the node's NATS account, or give the node's JetStream domain (--jsdomain)",
  },
  {
    pattern: /^Unsupported workload type on this node: (\S+)/,
    hint: (m, c) => `node ${c.nodeId} does not run ${m[1]} workloads: its config's workload_types must list "${m[1]}" (e.g. "workload_types": ["native", "v8", "wasm"]); the default allows only native`,
  },
  {
    pattern: /^invalid workload issuer: (\S+)/,
    hint: (m, c) => `node ${c.nodeId} accepts only the issuers in its config's valid_issuers: add ${m[1]}${c.issuerFile ? ` (the public key of ${c.issuerFile})` : ''}, or deploy with a listed issuer's keys (--keys)`,
  },
  {
    pattern: /^Node is in lame duck mode/,
    hint: (_m, c) => `node ${c.nodeId} is shutting down and takes no new workloads: deploy to another node`,
  },
  {
    pattern: /^Node is at maximum workload limit/,
    hint: (_m, c) => `node ${c.nodeId} runs as many workloads as its node_limits.max_workloads allows: stop one, or deploy to another node`,
  },
  {
    pattern: /exceeds maximum of 12288 bytes/,
    hint: () => 'a Nex node takes at most 12,288 bytes of JavaScript per function: minify the source or move code out of it',
  },
  {
    pattern: /V8 is not supported on this platform/,
    hint: (_m, c) => `node ${c.nodeId} runs JavaScript only when its agent is built for linux/amd64: deploy to such a node, or use a wasm function`,
  },
  {
    pattern: /the only entity allowed to terminate a workload is the issuer that originally started it/,
    hint: (_m, c) =>
      `only the issuer that deployed the workload may stop it${c.issuer ? `; this stop was signed by ${c.issuer}${c.issuerFile ? ` (${c.issuerFile})` : ''}` : ''}: use the keys it was deployed with (--keys)`,
  },
];

/** Where in the function a refusal points: its file, and the line when it is known. */
export interface RefusalLocation {
  /** The file the node refused (the JavaScript source, the wasm module), absolute. */
  file: string;
  /** 1-based; undefined when the refusal concerns the whole file (e.g. its size). */
  line?: number;
  /** 1-based, when known. */
  column?: number;
}

/**
 * `file:line:column` (or `file:line`, or `file`), the file relative to `base` when it is inside
 * it, as terminals and editors make a link of it.
 */
export function formatLocation(location: RefusalLocation, base?: string): string {
  const rel = base ? path.relative(base, location.file) : '';
  const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : location.file;
  return `${file}${location.line !== undefined ? `:${location.line}${location.column !== undefined ? `:${location.column}` : ''}` : ''}`;
}

/** A node refused a request: `message` is its text verbatim, then where (when known) and the hint, each on its own line. */
export class NodeRefusal extends Error {
  override name = 'NodeRefusal';
  constructor(
    /** The node's text, verbatim. */
    readonly nodeMessage: string,
    readonly nodeId: string,
    readonly hint: string | undefined,
    /** Where in the function the refusal points (a syntax error's line, a source too large), when it concerns the source. */
    readonly location?: RefusalLocation,
    /** The folder the location is shown relative to in `message`. */
    locationBase?: string,
  ) {
    super([nodeMessage, ...(location ? [`  at ${formatLocation(location, locationBase)}`] : []), ...(hint ? [`hint: ${hint}`] : [])].join('\n'));
  }

  /** The same refusal, pointing at `location` (shown relative to `base` in the message). */
  at(location: RefusalLocation | undefined, base?: string): NodeRefusal {
    return location ? new NodeRefusal(this.nodeMessage, this.nodeId, this.hint, location, base) : this;
  }
}

/** What a refusal says about the function's own file: a JavaScript syntax error, a source over the size limit, a wasm module that does not compile. */
export type SourceRefusalKind = 'syntax' | 'size' | 'module';

/** Whether a node's refusal text is about the function's file, and how (reference §1.8 step 14, §11 steps 16-17). */
export function sourceRefusalKind(nodeMessage: string): SourceRefusalKind | undefined {
  if (/Failed to validate workload: failed to compile source for execution:/.test(nodeMessage)) {
    return 'syntax';
  }
  if (/Failed to validate workload: source file \(\d+ bytes\) exceeds maximum of \d+ bytes/.test(nodeMessage)) {
    return 'size';
  }
  if (/Failed to validate workload: failed to compile module:/.test(nodeMessage)) {
    return 'module';
  }
  return undefined;
}

/**
 * Where a refusal of `file` points, given what compiling the same source here found (`problems`,
 * from checkJsSource): a syntax refusal points at the line of the local syntax error (the node
 * names none), else at the file; a size or wasm refusal points at the file. Undefined for a
 * refusal that is not about the file.
 */
export function refusalLocation(nodeMessage: string, file: string, problems: readonly SourceProblem[] = []): RefusalLocation | undefined {
  const kind = sourceRefusalKind(nodeMessage);
  if (!kind) {
    return undefined;
  }
  const syntax = kind === 'syntax' ? problems.find((p) => p.code === 'syntax' || p.code === 'module-syntax') : undefined;
  return syntax ? { file, line: syntax.line, column: syntax.column } : { file };
}

/** The function a refusal may point into. */
export interface RefusedFunction {
  type: 'v8' | 'wasm';
  /** The file that was uploaded: the JavaScript source or the wasm module. */
  file: string;
  compat?: CompatProfile;
}

/**
 * Where a node's refusal of `fn` points (see refusalLocation): for a syntax refusal the source is
 * compiled here, with the same check as the editor's (checkJsSource, whose top level runs in the
 * executor's worker: only for code the user deploys anyway), to find the line the node does not name.
 */
export async function locateRefusal(nodeMessage: string, fn: RefusedFunction, executor: WorkerExecutor): Promise<RefusalLocation | undefined> {
  const kind = sourceRefusalKind(nodeMessage);
  if (!kind) {
    return undefined;
  }
  let problems: SourceProblem[] = [];
  if (kind === 'syntax' && fn.type === 'v8') {
    try {
      problems = await checkJsSource(executor, fs.readFileSync(fn.file, 'utf8'), fn.file, fn.compat);
    } catch {
      // The file went away or the check failed: point at the file.
    }
  }
  return refusalLocation(nodeMessage, fn.file, problems);
}

/** The hint for a node's refusal text, when it is a common one. */
function refusalHint(nodeMessage: string, context: RefusalContext): string | undefined {
  for (const rule of HINTS) {
    const match = rule.pattern.exec(nodeMessage);
    if (match) {
      return rule.hint(match, context);
    }
  }
  return undefined;
}

/** Turns a NodeError into a NodeRefusal with its hint; any other error goes through as it is. */
export function withHint(e: unknown, context: RefusalContext): unknown {
  return e instanceof NodeError ? new NodeRefusal(e.nodeMessage, context.nodeId, refusalHint(e.nodeMessage, context)) : e;
}
