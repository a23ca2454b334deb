/**
 * Nex 0.4 from the editor: deploy (and its preview) and undeploy of a function, Clone Workload…,
 * Lame Duck… (after a confirmation naming the delay) and Show Node Info (the node's INFO, read now).
 * A node's own error text reaches the user verbatim (deploy04.ts adds hints).
 */
import { window as Window, workspace as Workspace } from 'vscode';
import { plural } from '../../core/bytes';
import { deployNamespace, type ValidFunction } from '../../core/manifest';
import { inNamespace } from '../../core/subject';
import { cloneWorkload04, type Deploy04Result, deployFunction04, stopWorkloads04 } from '../../deploy/deploy04';
import { nodeLabel, type Node04View, workloads04Of } from '../../explorer/deployedModel';
import { Nex04Client } from '../../nex04/client04';
import { formatGoDuration } from '../../nex/uptime';
import { parseGoDuration } from '../../nex04/goDuration';
import type { NexConnection } from '../connections/connectionManager';
import { currentConnection } from '../connections/currentConnection';
import type { NexExtension } from '../nexExtension';
import { Node04Item, Workload04Item } from '../views/deployedView';

/** Scripted arguments (tests, keybindings): the node by id or name, the delay as a Go duration, and the confirmation given. */
export interface LameDuckArgs {
  node?: string;
  delay?: string;
  confirmed?: boolean;
}

const DEFAULT_LAME_DUCK_DELAY = '30s';

/** The 0.4 node an item or a scripted argument (its id or name) names, else the one the user picks. */
async function node04Of(ext: NexExtension, arg: Node04Item | LameDuckArgs | undefined, title: string): Promise<Node04View | undefined> {
  if (arg instanceof Node04Item) {
    return arg.node;
  }
  const nodes = ext.deployed.snapshot?.nodes04 ?? [];
  const wanted = typeof arg?.node === 'string' ? arg.node : undefined;
  if (wanted) {
    const found = nodes.find((n) => n.id === wanted || n.name === wanted);
    if (!found) {
      void ext.ui.error(`Nex: no Nex 0.4 node ${wanted} answers on this connection.`);
    }
    return found;
  }
  if (nodes.length === 0) {
    void ext.ui.info('No Nex 0.4 node answers on this connection.');
    return undefined;
  }
  return ext.ui.pick(
    nodes.map((n) => ({ label: nodeLabel(n.name, n.id), description: `Nex ${n.version} · ${n.state} · ${n.id}`, value: n })),
    { title },
  );
}

/**
 * Lame Duck: the node tags itself nex.lameduck=true (which deploys from here avoid), tells its
 * nexlets to take no new workloads, and shuts down after the delay. Asks for the delay and a
 * confirmation first.
 */
export async function lameDuckNodeCommand(ext: NexExtension, arg?: Node04Item | LameDuckArgs): Promise<string | undefined> {
  const node = await node04Of(ext, arg, 'Put which Nex 0.4 node in lame duck mode?');
  if (!node) {
    return undefined;
  }
  const scripted: LameDuckArgs = arg instanceof Node04Item ? {} : (arg ?? {});
  const label = nodeLabel(node.name, node.id);
  const delay =
    scripted.delay ??
    (await ext.ui.input({
      title: `Lame duck ${label}: shut it down after how long?`,
      prompt: 'A Go duration, e.g. 30s, 5m, 1h30m',
      value: DEFAULT_LAME_DUCK_DELAY,
      validate: delayProblem,
    }));
  if (delay === undefined) {
    return undefined;
  }
  const problem = delayProblem(delay);
  if (problem) {
    void ext.ui.error(`Nex: ${problem}`);
    return undefined;
  }
  const count = node.workloads?.length;
  const confirmed =
    scripted.confirmed ??
    (await ext.ui.warn(
      `Put ${label} in lame duck mode? It shuts down after ${formatGoDuration(parseGoDuration(delay))}${count ? `, stopping its ${count} workload${count === 1 ? '' : 's'}` : ''}; its nexlets stop taking new workloads.`,
      'Lame Duck',
    )) === 'Lame Duck';
  if (!confirmed) {
    return undefined;
  }
  const conn = await currentConnection(ext.connections);
  const reply = await new Nex04Client(conn.nc, conn.profile.inboxPrefix).lameDuck(node.id, delay);
  if (!reply.success) {
    throw new Error(`${label} did not enter lame duck mode${reply.message ? `: ${reply.message}` : ''}`);
  }
  ext.log.info(`lame duck ${label} (${node.id}), delay ${delay}: ${reply.message}`);
  void ext.ui.info(`${label}: ${reply.message || 'in lame duck mode'}.`);
  void ext.deployed.refresh();
  return reply.message;
}

function delayProblem(value: string): string | undefined {
  try {
    return parseGoDuration(value.trim()) < 0 ? 'the delay cannot be negative' : undefined;
  } catch (e) {
    return `not a duration (${(e as Error).message}): e.g. 30s, 5m, 1h30m`;
  }
}

/** A read-only JSON document with what a 0.4 node says about itself: its PING answer as the view holds it, and its INFO read now. */
export async function showNode04InfoCommand(ext: NexExtension, node: Node04View): Promise<string> {
  const conn = await currentConnection(ext.connections);
  let info: unknown;
  try {
    info = await new Nex04Client(conn.nc, conn.profile.inboxPrefix).info(node.id);
  } catch (e) {
    info = { error: (e as Error).message };
  }
  const doc = await Workspace.openTextDocument({ language: 'json', content: JSON.stringify({ ...node, info }, null, 2) + '\n' });
  await Window.showTextDocument(doc, { preview: true });
  return node.id;
}

/** How the editor deploys to Nex 0.4: no keys (nothing is signed), the nexlet's auction, a progress notification. */
export async function deploy04FromEditor(ext: NexExtension, fn: ValidFunction, conn: NexConnection, options: { dryRun?: boolean; node?: string } = {}): Promise<Deploy04Result> {
  const name = fn.manifest.name;
  const result = await ext.ui.progress(`${options.dryRun ? 'Previewing the deploy of' : 'Deploying'} ${name} to Nex 0.4`, (report, signal) =>
    deployFunction04(conn.nc, fn, {
      signal,
      namespace: deployNamespace(fn, conn.namespace),
      jsDomain: conn.profile.jsDomain,
      inboxPrefix: conn.profile.inboxPrefix,
      dryRun: options.dryRun,
      node: options.node,
      onBuildOutput: (line) => ext.reporter.output('info', `  ${line}`),
      onProgress: (step) => {
        report(step);
        ext.log.info(`deploy ${name} (Nex 0.4): ${step}`);
      },
    }),
  );
  if (options.dryRun) {
    return result;
  }
  const ids = result.started.map((s) => s.id);
  const replaced = result.replaced.map((r) => (r.stopped ? r.id : `${r.id} (not stopped: ${r.message})`));
  ext.log.info(`deployed ${name} to Nex 0.4 as ${ids.join(', ')}${inNamespace(result.namespace)}${replaced.length ? `, replacing ${replaced.join(', ')}` : ''}; ${result.strategy}`);
  void ext.deployed.refresh();
  ext.reporter.showStatusMessage(`$(cloud-upload) Nex: ${name} deployed on Nex 0.4${inNamespace(result.namespace)}`);
  const triggers = fn.manifest.triggers ?? [];
  void ext.ui.info(
    `${name} is deployed on Nex 0.4${inNamespace(result.namespace)} as ${ids.join(', ')}${triggers.length ? `, triggered by ${triggers.join(', ')}` : ''}${replaced.length ? ` (replacing ${replaced.join(', ')})` : ''}.`,
  );
  return result;
}

/** Stops a function's 0.4 workloads (every instance) by UNDEPLOY in its namespace; a `stopped: false` is said as not stopped, in the node's words. */
export async function undeploy04FromEditor(ext: NexExtension, conn: NexConnection, name: string, namespace: string): Promise<number> {
  const results = await stopWorkloads04(conn.nc, name, { namespace, inboxPrefix: conn.profile.inboxPrefix });
  const stopped = results.filter((r) => r.stopped);
  const notStopped = results.filter((r) => !r.stopped);
  ext.log.info(`undeployed ${name} from Nex 0.4${inNamespace(namespace)}: ${results.map((r) => `${r.id} ${r.stopped ? 'stopped' : `not stopped (${r.message || 'no reason given'})`}`).join(', ')}`);
  void ext.deployed.refresh();
  if (notStopped.length > 0) {
    void ext.ui.warn(`${name}${inNamespace(namespace)}: ${notStopped.map((r) => `${r.id} was not stopped: ${r.message || 'the node gave no reason'}`).join('; ')}${stopped.length ? ` (${plural(stopped.length, 'workload')} stopped)` : ''}.`);
  } else {
    void ext.ui.info(`${name} is undeployed from Nex 0.4${inNamespace(namespace)} (${plural(stopped.length, 'workload')} stopped).`);
  }
  return stopped.length;
}

/** Scripted arguments of Clone Workload: the workload id and namespace, and where the copy goes. */
export interface CloneArgs {
  workloadId?: string;
  namespace?: string;
  /** A node's name or id; or `tags` (k=v pairs), or neither: any node with a functions nexlet. */
  node?: string;
  tags?: Record<string, string>;
}

/** Clone Workload…: a copy of a 0.4 function on another node (or any node with given tags), by CLONE and a new auction. */
export async function cloneWorkloadCommand(ext: NexExtension, arg?: Workload04Item | CloneArgs): Promise<{ id: string; name: string } | undefined> {
  const snapshot = ext.deployed.snapshot;
  const all = workloads04Of(snapshot).filter((w) => w.isFunction);
  const fromItem = arg instanceof Workload04Item;
  const scripted: CloneArgs = fromItem ? { workloadId: arg.workload.id, namespace: arg.workload.namespace } : (arg ?? {});
  if (!scripted.workloadId && all.length === 0) {
    void ext.ui.info('No Nex 0.4 function is deployed on this connection.');
    return undefined;
  }
  const workload = scripted.workloadId
    ? all.find((w) => w.id === scripted.workloadId)
    : await ext.ui.pick(
        all.map((w) => ({ label: w.name, description: `${w.type} · ${w.id} · ${w.namespace}`, value: w })),
        { title: 'Clone which Nex 0.4 workload?' },
      );
  if (!workload) {
    if (scripted.workloadId) {
      void ext.ui.error(`Nex: no Nex 0.4 function with the id ${scripted.workloadId} is in the Deployed view.`);
    }
    return undefined;
  }
  let node = scripted.node;
  let tags = scripted.tags;
  // Scripted callers say where the copy goes (neither node nor tags: any node); the others are asked.
  if (fromItem || arg === undefined) {
    const nodes = snapshot?.nodes04 ?? [];
    const choice = await ext.ui.pick<{ node?: string; tags?: boolean }>(
      [
        ...nodes.map((n) => ({ label: nodeLabel(n.name, n.id), description: `${n.id === workload.nodeId ? 'its own node · ' : ''}Nex ${n.version} · ${n.state}`, value: { node: n.id } })),
        { label: '$(tag) Nodes with tags…', description: 'any node whose tags match', value: { tags: true } },
        { label: '$(globe) Any node', description: 'whichever functions nexlet bids', value: {} },
      ],
      { title: `Clone ${workload.name} to which node?` },
    );
    if (!choice) {
      return undefined;
    }
    node = choice.node;
    if (choice.tags) {
      const text = await ext.ui.input({ title: `Clone ${workload.name}: the tags the node must have`, prompt: 'k=v pairs, separated by commas', placeHolder: 'e.g. team=a,zone=eu', validate: (v) => (parseTags(v) ? undefined : 'k=v pairs, separated by commas') });
      if (text === undefined) {
        return undefined;
      }
      tags = parseTags(text);
    }
  }
  const conn = await currentConnection(ext.connections);
  const copy = await ext.ui.progress(`Cloning ${workload.name}`, (report, signal) =>
    cloneWorkload04(conn.nc, workload.id, {
      signal,
      namespace: scripted.namespace ?? workload.namespace,
      ...(node ? { nodeName: node } : {}),
      ...(tags ? { tags } : {}),
      inboxPrefix: conn.profile.inboxPrefix,
      onProgress: (step) => {
        report(step);
        ext.log.info(`clone ${workload.name}: ${step}`);
      },
    }),
  );
  ext.log.info(`cloned ${workload.name} (${workload.id}) as ${copy.id}${inNamespace(workload.namespace)}`);
  void ext.deployed.refresh();
  void ext.ui.info(`${workload.name} is cloned as ${copy.id}${inNamespace(workload.namespace)}.`);
  return copy;
}

function parseTags(text: string): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=(.*)$/.exec(pair);
    if (!m) {
      return undefined;
    }
    tags[m[1]] = m[2];
  }
  return Object.keys(tags).length > 0 ? tags : undefined;
}
