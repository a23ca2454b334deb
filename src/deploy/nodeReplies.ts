/**
 * What the deploy client makes of a node's answers: the wire format its reported version speaks,
 * and its refusals, kept verbatim and followed by a hint for the common ones (reference §1.8, §11,
 * §9). The node's own text always comes first, so it can be searched for as the node wrote it.
 */
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

/** A node refused a request: `message` is its text verbatim, then the hint on its own line. */
export class NodeRefusal extends Error {
  override name = 'NodeRefusal';
  constructor(
    /** The node's text, verbatim. */
    readonly nodeMessage: string,
    readonly nodeId: string,
    readonly hint: string | undefined,
  ) {
    super(hint ? `${nodeMessage}\nhint: ${hint}` : nodeMessage);
  }
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
