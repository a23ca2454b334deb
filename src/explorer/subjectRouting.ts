/**
 * Which functions a subject reaches, with the NATS wildcard rules nodes subscribe with: the
 * deployed workloads of a namespace and the local functions of the workspace alike. A deployed
 * function's triggers come from the caller (a node's INFO does not carry them), so the answers are
 * only as good as what the caller knows about them.
 */
import type { ValidFunction } from '../core/manifest';
import { subjectMatches, subjectsCollide } from '../core/subject';

/** A deployed function as routing needs it; callers may pass more fields, and get them back. */
export interface DeployedFunction {
  /** The workload name. */
  name: string;
  /** The node it runs on (its id, or whatever label the caller wants back). */
  node: string;
  /** Its trigger subjects (wildcards allowed). */
  triggers: readonly string[];
}

/** A function a subject triggers, and the trigger subject that matched it. */
export interface Handler<F> {
  fn: F;
  trigger: string;
}

/** What a subject would trigger: deployed workloads and local functions. */
export interface SubjectHandlers<D extends DeployedFunction> {
  deployed: Array<Handler<D>>;
  local: Array<Handler<ValidFunction>>;
}

/** The first of `triggers` that a concrete `subject` matches. */
function firstMatch(triggers: readonly string[] | undefined, subject: string): string | undefined {
  return triggers?.find((pattern) => subjectMatches(pattern, subject));
}

/**
 * The deployed workloads and local functions a message on the concrete `subject` would trigger,
 * each with its first matching trigger. A plain NATS subscription delivers every message to every
 * subscriber, so all of them run (no released Nex uses queue groups for triggers).
 */
export function whichHandles<D extends DeployedFunction>(subject: string, deployed: readonly D[], local: readonly ValidFunction[]): SubjectHandlers<D> {
  const handlers = <F>(fns: readonly F[], triggersOf: (fn: F) => readonly string[] | undefined): Array<Handler<F>> =>
    fns.flatMap((fn) => {
      const trigger = firstMatch(triggersOf(fn), subject);
      return trigger === undefined ? [] : [{ fn, trigger }];
    });
  return {
    deployed: handlers(deployed, (d) => d.triggers),
    local: handlers(local, (f) => f.manifest.triggers),
  };
}

/** Two local functions whose triggers can match the same message. */
export interface LocalOverlap {
  first: Handler<ValidFunction>;
  second: Handler<ValidFunction>;
}

/** A local function's trigger that can match the same message as a deployed function of another name. */
export interface DeployedOverlap<D extends DeployedFunction> {
  local: Handler<ValidFunction>;
  deployed: Handler<D>;
}

export interface TriggerOverlaps<D extends DeployedFunction> {
  /** Pairs of local functions (each pair once, in the order given) and the triggers that collide. */
  local: LocalOverlap[];
  /** Local triggers that collide with a deployed function's; a deployed copy of the same name is not an overlap. */
  deployed: Array<DeployedOverlap<D>>;
}

/** Every pair of colliding triggers of two trigger lists. */
function collidingPairs(a: readonly string[] | undefined, b: readonly string[] | undefined): Array<[string, string]> {
  return (a ?? []).flatMap((x) => (b ?? []).filter((y) => subjectsCollide(x, y)).map((y): [string, string] => [x, y]));
}

/**
 * Where triggers overlap, as nats-server's SubjectsCollide decides: pairs of local functions that
 * one message would both run, and local triggers that a deployed function of another name already
 * answers (the same name is taken to be the deployed copy of the local function).
 */
export function triggerOverlaps<D extends DeployedFunction>(local: readonly ValidFunction[], deployed: readonly D[]): TriggerOverlaps<D> {
  const localPairs: LocalOverlap[] = [];
  local.forEach((first, i) => {
    for (const second of local.slice(i + 1)) {
      for (const [a, b] of collidingPairs(first.manifest.triggers, second.manifest.triggers)) {
        localPairs.push({ first: { fn: first, trigger: a }, second: { fn: second, trigger: b } });
      }
    }
  });
  const deployedPairs = local.flatMap((fn) =>
    deployed
      .filter((d) => d.name !== fn.manifest.name)
      .flatMap((d) => collidingPairs(fn.manifest.triggers, d.triggers).map(([a, b]) => ({ local: { fn, trigger: a }, deployed: { fn: d, trigger: b } }))),
  );
  return { local: localPairs, deployed: deployedPairs };
}
