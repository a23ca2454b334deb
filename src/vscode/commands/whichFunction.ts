/**
 * Nex: Which Function Handles a Subject…: the workspace's functions and the deployed workloads (as
 * the Deployed view knows them now) that a message on a concrete subject would trigger. Deployed
 * workloads count with the triggers they were deployed with (their deploy records); those without a
 * record have unknown triggers and are left out, and said to be. A workspace manifest whose
 * triggers changed since the deploy gets a note, never a handler it does not subscribe with.
 */
import { isValid, type ValidFunction } from '../../core/manifest';
import { concreteSubjectProblem, inNamespace } from '../../core/subject';
import { plural } from '../../core/bytes';
import { deployedFunctions, nodeLabel, type DeployedSnapshot } from '../../explorer/deployedModel';
import { triggerDrift, triggerDriftText } from '../../explorer/deployDrift';
import { whichHandles } from '../../explorer/subjectRouting';
import type { NexExtension } from '../nexExtension';

/** Arguments for scripted use (tests, keybindings). */
export interface WhichFunctionArgs {
  subject?: string;
}

/** A local function the subject would trigger. */
export interface LocalHandler {
  name: string;
  /** Its folder. */
  dir: string;
  /** The trigger that matched. */
  trigger: string;
}

/** A deployed workload the subject would trigger. */
export interface DeployedHandler {
  name: string;
  workloadId: string;
  nodeId: string;
  nodeName?: string;
  /** The trigger that matched. */
  trigger: string;
  namespace: string;
}

/** The command's answer (plain data, for tests). */
export interface WhichFunctionAnswer {
  subject: string;
  local: LocalHandler[];
  deployed: DeployedHandler[];
  /** Whether deployed workloads were looked at: the Deployed view had the nodes of a connection. */
  checkedDeployed: boolean;
  /** Deployed workloads left out because their triggers are unknown. */
  unknownTriggers: number;
  /** Deployed workloads whose workspace manifest has other triggers now: "greet: triggers changed, not deployed (+a.*)". */
  drift: string[];
}


/** The answer for `subject` over the workspace's valid functions and `snapshot`'s workloads. */
export function answerWhichFunction(subject: string, local: readonly ValidFunction[], snapshot: DeployedSnapshot | undefined): WhichFunctionAnswer {
  const deployed = snapshot ? deployedFunctions(snapshot) : [];
  const handlers = whichHandles(subject, deployed, local);
  const workloads = snapshot?.nodes.reduce((n, node) => n + node.workloads.length, 0) ?? 0;
  return {
    subject,
    local: handlers.local.map((h) => ({ name: h.fn.manifest.name, dir: h.fn.dir, trigger: h.trigger })),
    deployed: handlers.deployed.map((h) => ({
      name: h.fn.name,
      workloadId: h.fn.workloadId,
      nodeId: h.fn.node,
      ...(h.fn.nodeName !== undefined ? { nodeName: h.fn.nodeName } : {}),
      trigger: h.trigger,
      namespace: h.fn.namespace,
    })),
    checkedDeployed: snapshot !== undefined,
    unknownTriggers: workloads - deployed.length,
    drift: deployedTriggerDrift(deployed, local),
  };
}

/** For each deployed workload with a workspace function of its name: how the manifest's triggers differ now. */
export function deployedTriggerDrift(deployed: ReturnType<typeof deployedFunctions>, local: readonly ValidFunction[]): string[] {
  const notes = deployed.flatMap((d) => {
    const fn = local.find((f) => f.manifest.name === d.name);
    const drift = fn && triggerDrift(d.triggers, fn.manifest.triggers);
    return drift ? [`${d.name}${inNamespace(d.namespace)}: ${triggerDriftText(drift)}`] : [];
  });
  return [...new Set(notes)];
}

/** The deployed handlers grouped by workload name: "counter (counter.*) on one, two". */
function deployedInWords(deployed: readonly DeployedHandler[]): string[] {
  const byName = new Map<string, DeployedHandler[]>();
  for (const h of deployed) {
    byName.set(h.name, [...(byName.get(h.name) ?? []), h]);
  }
  return [...byName.entries()].map(([name, hs]) => `${name} (${[...new Set(hs.map((h) => h.trigger))].join(', ')}) on ${[...new Set(hs.map((h) => nodeLabel(h.nodeName, h.nodeId)))].join(', ')}`);
}

/** What was not looked at, or could not be: said after the answer. */
function caveats(answer: WhichFunctionAnswer): string[] {
  return [
    answer.checkedDeployed ? '' : 'deployed workloads were not checked: not connected (Nex: Connect…)',
    answer.unknownTriggers > 0 ? `${plural(answer.unknownTriggers, 'deployed workload')} with unknown triggers (no deploy record: deployed by another tool) ${answer.unknownTriggers === 1 ? 'is' : 'are'} not included` : '',
    ...answer.drift,
  ].filter(Boolean);
}

/** The answer in one message. */
export function whichFunctionMessage(answer: WhichFunctionAnswer): string {
  const parts: string[] = [];
  if (answer.local.length > 0) {
    parts.push(`local ${answer.local.map((h) => `${h.name} (${h.trigger})`).join(', ')}`);
  }
  if (answer.deployed.length > 0) {
    parts.push(`deployed ${deployedInWords(answer.deployed).join('; ')}`);
  }
  const head = parts.length > 0 ? `A message on ${answer.subject} would trigger ${parts.join(' · ')}.` : `Nothing would handle ${answer.subject}: no ${answer.checkedDeployed ? 'local function or deployed workload' : 'local function'} has a trigger that matches it.`;
  const notes = caveats(answer);
  return notes.length > 0 ? `${head} (${notes.join('; ')})` : head;
}

export async function whichFunctionCommand(ext: NexExtension, arg?: WhichFunctionArgs): Promise<WhichFunctionAnswer | undefined> {
  const scripted = arg && typeof arg === 'object' && typeof arg.subject === 'string' ? arg.subject : undefined;
  const subject =
    scripted ??
    (await ext.ui.input({
      title: 'Which function handles a subject?',
      prompt: 'A concrete subject, as a message would be published on (no wildcards)',
      placeHolder: 'e.g. orders.new',
      validate: concreteSubjectProblem,
    }));
  if (subject === undefined) {
    return undefined;
  }
  const problem = concreteSubjectProblem(subject);
  if (problem) {
    void ext.ui.error(`Nex: "${subject}": ${problem}`);
    return undefined;
  }
  if (!ext.catalog.loaded) {
    await ext.catalog.refresh();
  }
  const answer = answerWhichFunction(subject, ext.catalog.functions.filter(isValid), ext.deployed.snapshot);
  ext.reporter.output('info', `? which function handles "${subject}"`);
  for (const h of answer.local) {
    ext.reporter.output('info', `  local ${h.name} (${h.dir}) via ${h.trigger}`);
  }
  for (const h of answer.deployed) {
    ext.reporter.output('info', `  deployed ${h.name} ${h.workloadId} on ${nodeLabel(h.nodeName, h.nodeId)} (${h.nodeId})${inNamespace(h.namespace)} via ${h.trigger}`);
  }
  if (answer.local.length + answer.deployed.length === 0) {
    ext.reporter.output('info', '  nothing would handle it');
  }
  for (const note of caveats(answer)) {
    ext.reporter.output('info', `  note: ${note}`);
  }
  void ext.ui.info(whichFunctionMessage(answer), 'Show Output').then((choice) => choice && ext.log.show(true));
  return answer;
}
