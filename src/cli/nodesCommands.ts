/**
 * nexfn nodes and nexfn which: what is deployed where, and what a subject triggers. Both read the
 * nodes once through the deployed model the editor's "Deployed" view follows, so they show the same
 * thing: Nex 0.2/0.3 nodes and Nex 0.4 nodes (with their nexlets) alike, whichever answer.
 * Results go to stdout, problems to stderr.
 * Exit codes: 0 done, 1 nothing found (no node answered, no function triggered), 2 the command was wrong.
 */
import * as path from 'path';
import { Command, Option } from 'commander';
import { positiveInt } from './numberOptions';
import { plural } from '../core/bytes';
import { deployNamespaces, isValid, loadFunction, type ValidFunction } from '../core/manifest';
import { concreteSubjectProblem, inNamespace, namespaceProblem } from '../core/subject';
import { DeployedModel, deployedFunctions, type DeployedSnapshot, type DeployedTriggers, nodeLabel, type NodeView, workloads04Of } from '../explorer/deployedModel';
import { nodesJson } from '../explorer/nodesJson';
import type { Node04View } from '../explorer/workloads04';
import { triggerDrift, triggerDriftText } from '../explorer/deployDrift';
import { uptimeSince } from '../nex/uptime';
import { type Handler, whichHandles } from '../explorer/subjectRouting';
import { controlSubjects } from '../nex/controlApi';
import { control04, SYSTEM_NAMESPACE } from '../nex04/subjects';
import { DISCOVERY_WINDOW_MS } from '../nex/controlClient';
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from './connectionFlags';
import type { CliIo } from './cliIo';
import { functionsIn } from './testCommands';

/** A mistake in the command line: exit code 2. */
class CommandLineError extends Error {}

interface NodesFlags extends ConnectionFlags {
  json?: boolean;
  wait?: number;
  /** Only the nodes of this generation: 0.2 and 0.3 mean the 0.2/0.3 control API, 0.4 Nex 0.4's. */
  nexVersion?: '0.2' | '0.3' | '0.4';
}

/** What to say when no node answered the discovery PING. */
function noNodeAnswered(waitMs: number, nexVersion?: string): string {
  const where = nexVersion === '0.4' ? control04.ping() : nexVersion ? controlSubjects.pingAll() : `${controlSubjects.pingAll()} or ${control04.ping()}`;
  return `no Nex node answered on ${where} within ${waitMs} ms: is a node running (nexfn node starts a local one) and attached to this NATS server and account? A slow link may need a longer --wait`;
}

/** Only the generation --nex-version names, when it names one. */
function ofGeneration(snapshot: DeployedSnapshot, nexVersion: NodesFlags['nexVersion']): DeployedSnapshot {
  if (nexVersion === undefined) {
    return snapshot;
  }
  const { workloads04Unplaced, ...rest } = snapshot;
  return nexVersion === '0.4' ? { ...rest, nodes: [], ...(workloads04Unplaced ? { workloads04Unplaced } : {}) } : { ...rest, nodes04: [] };
}

/**
 * Reads the nodes and their workloads once (PING, then INFO of each in the flags' namespace and in
 * `namespaces`), with the flags' connection; the connection is closed after.
 */
async function readNodes(flags: NodesFlags, namespaces: readonly string[] = []): Promise<DeployedSnapshot> {
  const problem = flags.namespace === undefined ? undefined : namespaceProblem(flags.namespace);
  if (problem) {
    throw new CommandLineError(`--namespace: ${problem}`);
  }
  const { nc, profile } = await connectFromFlags(flags);
  const model = new DeployedModel({ nc, namespace: flags.namespace, namespaces, inboxPrefix: profile.inboxPrefix, discoveryWindowMs: flags.wait, jsDomain: flags.jsdomain });
  try {
    return ofGeneration(await model.refresh(), flags.nexVersion);
  } finally {
    model.dispose();
    await nc.close().catch(() => undefined);
  }
}

/** Rows as columns padded to their widest cell, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/** A node's state in one word or two: up, unreachable, and lame duck. */
function nodeState(node: NodeView): string {
  return [node.state, node.lameDuck ? 'lame duck' : undefined].filter(Boolean).join(', ');
}

/** A 0.4 node's state: running, lameduck…, and unreachable. */
function node04State(node: Node04View): string {
  return [node.state || '?', node.unreachable ? 'unreachable' : undefined].filter(Boolean).join(', ');
}

/** "the namespace default" or "the namespaces default, system". */
function namespacesText(namespaces: readonly string[]): string {
  return namespaces.length > 1 ? `the namespaces ${namespaces.join(', ')}` : `the namespace ${namespaces[0]}`;
}

/**
 * The nodes table (both generations), the 0.4 nodes' nexlets, the workloads of the namespaces read
 * (0.2/0.3, then 0.4 with `system`), then what is wrong with single nodes.
 */
function formatNodes(snapshot: DeployedSnapshot): string {
  const label = (node: NodeView) => node.name ?? node.id.slice(0, 12);
  const label04 = (node: Node04View) => nodeLabel(node.name, node.id);
  let text = table([
    ['NODE', 'ID', 'VERSION', 'UPTIME', 'RUNNING', 'TYPES', 'STATE'],
    ...snapshot.nodes.map((n) => [label(n), n.id, n.version || '?', uptimeSince(n.startedAt, n.uptime) || '?', n.runningCount === undefined ? '?' : String(n.runningCount), n.supportedTypes?.join(',') || '?', nodeState(n)]),
    ...snapshot.nodes04.map((n) => [
      label04(n),
      n.id,
      n.version || '?',
      uptimeSince(n.startedAt) || '?',
      n.workloads ? String(n.workloads.length) : '?',
      n.nexlets ? [...new Set(n.nexlets.map((a) => a.type))].join(',') || 'no nexlets' : plural(n.agentCount, 'nexlet'),
      node04State(n),
    ]),
  ]);
  const nexlets = snapshot.nodes04.flatMap((n) => (n.nexlets ?? []).map((a) => ({ a, node: label04(n) })));
  if (nexlets.length > 0) {
    text += `\nnexlets of the Nex 0.4 nodes:\n`;
    text += table([
      ['NODE', 'NEXLET', 'TYPE', 'VERSION', 'HEALTH', 'STATE', 'WORKLOADS', 'AGENT ID'],
      ...nexlets.map(({ a, node }) => [node, a.name || '?', a.type || '?', a.version || '?', a.health || '?', a.state || '?', String(a.workloadCount), a.agentId]),
    ]);
  }
  const workloads = snapshot.nodes.flatMap((n) => n.workloads.map((w) => ({ w, node: label(n) })));
  const where = namespacesText(snapshot.namespaces);
  // Beside 0.4 nodes (whose workloads are listed apart), say whose workloads these are.
  const whose = snapshot.nodes04.length > 0 ? ' on the Nex 0.2/0.3 nodes' : '';
  if (workloads.length === 0 && snapshot.nodes.length > 0) {
    text += `\nno workloads${whose} in ${where}\n`;
  } else if (workloads.length > 0) {
    text += `\n${whose ? 'Nex 0.2/0.3 workloads' : 'workloads'} in ${where}:\n`;
    text += table([
      ['WORKLOAD', 'ID', 'NAMESPACE', 'TYPE', 'NODE', 'UPTIME', 'RUNTIME', 'HASH', 'TRIGGERS'],
      ...workloads.map(({ w, node }) => [w.name, w.id, w.namespace, w.type, node, uptimeSince(w.startedAt, w.uptime) || '?', w.runtime || '?', w.hash.slice(0, 12) || '?', w.triggers ? w.triggers.join(', ') : 'unknown (no deploy record)']),
    ]);
  }
  text += formatWorkloads04(snapshot);
  for (const n of snapshot.nodes) {
    if (n.stateReason) {
      text += `node ${label(n)} is ${n.state}: ${n.stateReason}\n`;
    }
    if (n.problem) {
      text += `node ${label(n)}: ${n.problem}\n`;
    }
  }
  for (const n of snapshot.nodes04) {
    if (n.stateReason) {
      text += `node ${label04(n)} is unreachable: ${n.stateReason}\n`;
    }
    if (n.problem) {
      text += `node ${label04(n)}: ${n.problem}\n`;
    }
  }
  return text;
}

/** The Nex 0.4 workloads (functions with their triggers, services and jobs with their lifecycle), per namespace. */
function formatWorkloads04(snapshot: DeployedSnapshot): string {
  if (snapshot.nodes04.length === 0) {
    return '';
  }
  const names = new Map(snapshot.nodes04.map((n) => [n.id, nodeLabel(n.name, n.id)]));
  const unplaced = snapshot.workloads04Unplaced ?? [];
  const all = workloads04Of(snapshot);
  all.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const read = [...new Set([...snapshot.namespaces, SYSTEM_NAMESPACE])];
  const where = namespacesText(read);
  if (all.length === 0) {
    return snapshot.nodes04.some((n) => n.workloads) ? `\nno Nex 0.4 workloads in ${where}\n` : '';
  }
  let text = `\nNex 0.4 workloads in ${where}:\n`;
  text += table([
    ['WORKLOAD', 'ID', 'NAMESPACE', 'TYPE', 'LIFECYCLE', 'STATE', 'NODE', 'UPTIME', 'RUNTIME', 'TRIGGERS'],
    ...all.map((w) => [
      w.name,
      w.id,
      w.namespace,
      w.type || '?',
      w.lifecycle || '?',
      w.state || '?',
      w.nodeId ? (names.get(w.nodeId) ?? w.nodeId) : '?',
      uptimeSince(w.startedAt) || '?',
      w.runtime || '?',
      w.isFunction ? (w.triggers?.join(', ') ?? 'unknown') : '(not a function: read-only)',
    ]),
  ]);
  if (unplaced.length > 0) {
    text += `(${plural(unplaced.length, 'workload')} with NODE ? could not be placed: with several Nex 0.4 nodes, a WPING answer that does not name its node cannot be told apart)\n`;
  }
  return text;
}

async function nodesCommand(flags: NodesFlags, io: CliIo): Promise<number> {
  const snapshot = await readNodes(flags);
  if (flags.json) {
    io.stdout(`${JSON.stringify(nodesJson(snapshot), null, 2)}\n`);
  } else if (snapshot.nodes.length + snapshot.nodes04.length > 0) {
    io.stdout(formatNodes(snapshot));
  }
  for (const problem of snapshot.problems) {
    io.stderr(`${problem}\n`);
  }
  if (snapshot.nodes.length + snapshot.nodes04.length === 0) {
    io.stderr(`nexfn nodes: ${noNodeAnswered(flags.wait ?? DISCOVERY_WINDOW_MS, flags.nexVersion)}\n`);
    return 1;
  }
  return 0;
}

/** Whether the user gave any way to reach NATS: only then does `which` ask the nodes. */
function connectionGiven(flags: ConnectionFlags): boolean {
  return [flags.server, flags.context, flags.creds, flags.nkey, flags.user, flags.password, flags.token, flags.tlscert, flags.tlskey, flags.tlsca, flags.jsdomain].some((v) => v !== undefined);
}

/** The function folders under the paths, loaded; a missing path is a command-line mistake. */
function loadFunctions(paths: string[]): { local: ValidFunction[]; withProblems: number } {
  let dirs: string[];
  try {
    dirs = functionsIn(paths);
  } catch (e) {
    throw new CommandLineError((e as Error).message);
  }
  const defs = dirs.map(loadFunction);
  const local = defs.filter(isValid);
  return { local, withProblems: defs.length - local.length };
}

const folderOf = (fn: ValidFunction): string => path.relative(process.cwd(), fn.dir) || '.';

async function whichCommand(subject: string, paths: string[], flags: NodesFlags, io: CliIo): Promise<number> {
  const problem = concreteSubjectProblem(subject);
  if (problem) {
    throw new CommandLineError(`subject "${subject}": ${problem}`);
  }
  const { local, withProblems } = loadFunctions(paths);
  if (withProblems > 0) {
    io.stderr(`${plural(withProblems, 'function')} with problems left out (nexfn validate lists them)\n`);
  }
  const snapshot = connectionGiven(flags) ? await readNodes(flags, deployNamespaces(local)) : undefined;
  const found = whichHandles(subject, snapshot ? deployedFunctions(snapshot) : [], local);

  if (found.local.length > 0) {
    io.stdout(`local functions that ${subject} triggers:\n`);
    found.local.forEach(({ fn, trigger }) => io.stdout(`  ${fn.manifest.name} (${folderOf(fn)}) via ${trigger}\n`));
  } else {
    io.stdout(`no local function is triggered by ${subject} (${plural(local.length, 'function')} looked at)\n`);
  }
  if (snapshot) {
    reportDeployed(subject, snapshot, found.deployed, flags, io);
    reportDrift(snapshot, local, io);
  }
  return found.local.length + found.deployed.length > 0 ? 0 : 1;
}

/** The deployed side of `which`, and what it could not know: nodes that did not answer, workloads without a deploy record. */
function reportDeployed(subject: string, snapshot: DeployedSnapshot, deployed: Array<Handler<DeployedTriggers>>, flags: NodesFlags, io: CliIo): void {
  const where = snapshot.namespaces.length > 1 ? `the namespaces ${snapshot.namespaces.join(', ')}` : `the namespace ${snapshot.namespace}`;
  if (snapshot.nodes.length + snapshot.nodes04.length === 0) {
    io.stderr(`${noNodeAnswered(flags.wait ?? DISCOVERY_WINDOW_MS, flags.nexVersion)}: only local functions were checked\n`);
    return;
  }
  if (deployed.length > 0) {
    // Subjects are not namespaced: a 0.4 workload in `system` (read besides the namespaces asked) answers too.
    for (const namespace of [...new Set([...snapshot.namespaces, ...deployed.map(({ fn }) => fn.namespace).sort()])]) {
      const here = deployed.filter(({ fn }) => fn.namespace === namespace);
      if (here.length > 0) {
        io.stdout(`deployed workloads in the namespace ${namespace} that ${subject} triggers:\n`);
        here.forEach(({ fn, trigger }) => io.stdout(`  ${fn.name} (${fn.workloadId}) on node ${fn.nodeName ?? (fn.node || '? (a Nex 0.4 node that could not be told)')} via ${trigger}\n`));
      }
    }
  } else {
    io.stdout(`no deployed workload in ${where} is known to be triggered by ${subject}\n`);
  }
  const unknown = snapshot.nodes.flatMap((n) => n.workloads.filter((w) => !w.triggers).map((w) => `${w.name} on node ${n.name ?? n.id}${inNamespace(w.namespace)}`));
  if (unknown.length > 0) {
    io.stderr(`the triggers of ${plural(unknown.length, 'deployed workload')} are unknown (no deploy record: deployed by another tool than nexfn or the editor): ${unknown.join(', ')}\n`);
  }
}

/** A note, on a line of its own, for each deployed workload whose local manifest's triggers changed since its deploy. */
function reportDrift(snapshot: DeployedSnapshot, local: readonly ValidFunction[], io: CliIo): void {
  for (const d of deployedFunctions(snapshot)) {
    const fn = local.find((f) => f.manifest.name === d.name);
    const drift = fn && triggerDrift(d.triggers, fn.manifest.triggers);
    if (drift) {
      io.stdout(`note: ${d.name} (${d.workloadId})${inNamespace(d.namespace)}: ${triggerDriftText(drift)} (its manifest ${path.relative(process.cwd(), fn.manifestPath) || fn.manifestPath})\n`);
    }
  }
}

/** Adds the commands to the program; `setExitCode` sets nexfn's exit code. */
export function registerNodesCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  /** Runs a command; errors become one line on stderr: exit code 2 for a command-line mistake, else 1. */
  const run = async (command: string, handler: () => Promise<number>): Promise<void> => {
    try {
      setExitCode(await handler());
    } catch (e) {
      io.stderr(`nexfn ${command}: ${(e as Error).message}\n`);
      setExitCode(e instanceof CommandLineError ? 2 : 1);
    }
  };
  const waitOption = `how long to listen for nodes answering ${controlSubjects.pingAll()} and ${control04.ping()}, in milliseconds (default ${DISCOVERY_WINDOW_MS})`;
  const nexVersionOption = () => new Option('--nex-version <version>', 'only the nodes of one generation: 0.2 or 0.3 (the 0.2/0.3 control API), 0.4 (Nex 0.4); default: every node that answers').choices(['0.2', '0.3', '0.4']);

  withConnectionFlags(program.command('nodes'))
    .description('list the Nex nodes that answer, and their workloads in the namespace')
    .option('--json', 'print everything as JSON: one model for Nex 0.2/0.3 and 0.4 nodes (README, "nexfn nodes --json"), the data the editor\'s Deployed view shows')
    .option('--wait <ms>', waitOption, positiveInt('--wait'))
    .addOption(nexVersionOption())
    .action((flags: NodesFlags) => run('nodes', () => nodesCommand(flags, io)));

  withConnectionFlags(program.command('which'))
    .description('which local functions, and with connection flags which deployed workloads, a message on a subject triggers')
    .argument('<subject>', 'a concrete subject')
    .argument('[paths...]', 'function folders, or folders holding functions (default: .)')
    .option('--wait <ms>', waitOption, positiveInt('--wait'))
    .addOption(nexVersionOption())
    .action((subject: string, paths: string[], flags: NodesFlags) => run('which', () => whichCommand(subject, paths, flags, io)));
}
