/**
 * Commands on the Deployed view's Nex 0.4 rows: Lame Duck (after a confirmation naming the delay),
 * Show Node Info (the node's INFO, read now), and the node and workload pickers they share. A
 * node's own error text reaches the user verbatim.
 */
import { window as Window, workspace as Workspace } from 'vscode';
import { nodeLabel, type Node04View } from '../../explorer/deployedModel';
import { Nex04Client } from '../../nex04/client04';
import { formatGoDuration } from '../../nex/uptime';
import { parseGoDuration } from '../../nex04/goDuration';
import { currentConnection } from '../connections/currentConnection';
import type { NexExtension } from '../nexExtension';
import type { Node04Item } from '../views/deployedView';

/** Scripted arguments (tests, keybindings): the node by id or name, the delay as a Go duration, and the confirmation given. */
export interface LameDuckArgs {
  node?: string;
  delay?: string;
  confirmed?: boolean;
}

const DEFAULT_LAME_DUCK_DELAY = '30s';

/** The 0.4 node an item or a scripted argument names, else the one the user picks. */
export async function node04Of(ext: NexExtension, arg: Node04Item | { node?: string } | undefined, title: string): Promise<Node04View | undefined> {
  const nodes = ext.deployed.snapshot?.nodes04 ?? [];
  if (arg && 'node' in arg && typeof arg.node === 'object' && arg.node !== null) {
    return arg.node;
  }
  const wanted = arg && typeof (arg as { node?: unknown }).node === 'string' ? (arg as { node: string }).node : undefined;
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
  const scripted = arg && !('node' in arg && typeof arg.node === 'object') ? (arg as LameDuckArgs) : {};
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
