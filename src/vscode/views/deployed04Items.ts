/**
 * The Deployed view's Nex 0.4 rows: a node with its nexlets (from INFO) and its workloads per
 * namespace (from WPING): functions of the functions nexlet with their triggers (and how they
 * differ from the workspace's manifest), native services and jobs read-only. WPING answers after
 * about 2 s on 0.4.1, so a node whose workloads are still being read says so.
 */
import { MarkdownString, ThemeColor, ThemeIcon, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { plural } from '../../core/bytes';
import type { ValidFunction } from '../../core/manifest';
import { nodeLabel, type Nexlet04View, type Node04View, type Workload04View } from '../../explorer/deployedModel';
import { driftNotes, triggerDrift } from '../../explorer/deployDrift';
import { uptimeSince } from '../../nex/uptime';
import { SYSTEM_NAMESPACE } from '../../nex04/subjects';
import { WorkloadItem } from './deployedItems';

/** A Nex 0.4 node. */
export class Node04Item {
  constructor(readonly node: Node04View) {}
}

/** A nexlet registered with a 0.4 node. */
export class Nexlet04Item {
  constructor(
    readonly node: Node04View,
    readonly nexlet: Nexlet04View,
  ) {}
}

/** A namespace under a 0.4 node (or under the workloads whose node could not be told). */
export class Namespace04Item {
  constructor(
    readonly namespace: string,
    readonly workloads: readonly Workload04View[],
    /** Absent for the workloads whose node is unknown. */
    readonly node?: Node04View,
  ) {}
}

/** A workload on a 0.4 node. */
export class Workload04Item extends WorkloadItem<Workload04View> {}

/** Said under a 0.4 node while its workloads are read (or could not be). */
export class Workloads04StatusItem {
  constructor(readonly node: Node04View) {}
}

/** The 0.4 workloads whose node could not be told (several 0.4 nodes, WPING answers do not name theirs). */
export class Unplaced04Item {
  constructor(readonly workloads: readonly Workload04View[]) {}
}

/** The namespaces to show under a 0.4 node: every one read (but `system` only when something runs there), then any a workload reports. */
export function namespaces04(read: readonly string[], workloads: readonly Workload04View[]): string[] {
  const withWorkloads = new Set(workloads.map((w) => w.namespace));
  const shown = read.filter((ns) => ns !== SYSTEM_NAMESPACE || withWorkloads.has(ns));
  return [...shown, ...[...withWorkloads].filter((ns) => !shown.includes(ns)).sort()];
}

export function node04TreeItem(n: Node04View): TreeItem {
  const t = new TreeItem(nodeLabel(n.name, n.id), TreeItemCollapsibleState.Expanded);
  t.id = `node04:${n.id}`;
  const up = uptimeSince(n.startedAt);
  const workloads = n.workloads === undefined ? '' : plural(n.workloads.length, 'workload');
  const lameDuck = n.state === 'lameduck' || n.tags['nex.lameduck'] === 'true';
  t.description = [
    `Nex ${n.version || '?'}`,
    plural(n.nexlets?.length ?? n.agentCount, 'nexlet'),
    workloads,
    up ? `up ${up}` : '',
    lameDuck ? 'lame duck' : n.state !== 'running' ? n.state : '',
    n.unreachable ? 'unreachable' : '',
    n.tags['nex.local'] === 'true' ? 'local' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  t.iconPath = n.unreachable || n.problem || lameDuck ? new ThemeIcon('warning', new ThemeColor('problemsWarningIcon.foreground')) : new ThemeIcon('server-environment');
  const tags = Object.entries(n.tags)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ');
  t.tooltip = new MarkdownString(
    [`**${n.name ?? n.id}** (Nex ${n.version}, ${n.state})`, `id \`${n.id}\``, n.xkey ? `xkey \`${n.xkey}\`` : '', tags ? `tags ${tags}` : '', n.problem ? `problem: ${n.problem}` : ''].filter(Boolean).join('\n\n'),
  );
  t.contextValue = lameDuck ? 'nexNode04.lameduck' : 'nexNode04';
  return t;
}

export function nexlet04TreeItem(item: Nexlet04Item): TreeItem {
  const a = item.nexlet;
  const t = new TreeItem(a.name || a.type, TreeItemCollapsibleState.None);
  t.id = `nexlet:${item.node.id}:${a.agentId}`;
  t.description = [`nexlet ${a.type}`, a.version ? `v${a.version}` : '', a.health, plural(a.workloadCount, 'workload')].filter(Boolean).join(' · ');
  t.iconPath = new ThemeIcon(a.health === 'healthy' ? 'plug' : 'debug-disconnect', a.health === 'healthy' ? undefined : new ThemeColor('problemsWarningIcon.foreground'));
  t.tooltip = new MarkdownString(
    [`**${a.name}** (type \`${a.type}\`, version ${a.version})`, `agent id \`${a.agentId}\``, `health: ${a.health} (as the node rates its heartbeats); state: ${a.state}`, a.lastHeartbeatAt ? `last heartbeat ${a.lastHeartbeatAt}` : ''].filter(Boolean).join('\n\n'),
  );
  t.contextValue = 'nexNexlet04';
  return t;
}

export function namespace04TreeItem(item: Namespace04Item): TreeItem {
  const count = item.workloads.length;
  const t = new TreeItem(item.namespace, count > 0 ? TreeItemCollapsibleState.Expanded : TreeItemCollapsibleState.None);
  t.id = `namespace04:${item.node?.id ?? 'unplaced'}:${item.namespace}${count > 0 ? '' : ':empty'}`;
  t.description = count > 0 ? plural(count, 'workload') : 'no workloads';
  t.iconPath = new ThemeIcon('folder-library');
  t.tooltip = item.node ? `The namespace ${item.namespace} on ${nodeLabel(item.node.name, item.node.id)}` : `The namespace ${item.namespace}`;
  t.contextValue = 'nexNamespace04';
  return t;
}

export function workload04TreeItem(item: Workload04Item, localHash: (fn: ValidFunction) => string | undefined): TreeItem {
  const w = item.workload;
  const t = new TreeItem(w.name, w.isFunction ? TreeItemCollapsibleState.Collapsed : TreeItemCollapsibleState.None);
  t.id = `workload04:${w.nodeId ?? 'unplaced'}:${w.id}`;
  const local = w.isFunction ? item.local : undefined;
  const sourceHash = w.metadata.sha256;
  const drift = local ? driftNotes({ sourceChanged: sourceHash !== undefined && localHash(local) !== sourceHash, triggers: triggerDrift(w.triggers, local.manifest.triggers) }) : [];
  t.description = [w.isFunction ? w.type : `${w.type} ${w.lifecycle}`, w.state !== 'running' ? w.state : '', w.id, local ? (drift.length > 0 ? drift.join(' · ') : 'local source') : '', w.isFunction && !w.triggers ? 'triggers unknown' : '']
    .filter(Boolean)
    .join(' · ');
  t.iconPath = drift.length > 0 ? new ThemeIcon('cloud-upload', new ThemeColor('problemsWarningIcon.foreground')) : new ThemeIcon(w.isFunction ? 'symbol-function' : w.lifecycle === 'job' ? 'run' : 'gear');
  const up = uptimeSince(w.startedAt);
  t.tooltip = new MarkdownString(
    [
      `**${w.name}** (${w.type}, ${w.lifecycle}, ${w.state})${w.nodeId ? ` on ${w.nodeId.slice(0, 12)}…` : ''}, namespace ${w.namespace}`,
      `id \`${w.id}\``,
      `runtime ${w.runtime || '?'}${up ? `, up ${up}` : ''}`,
      w.triggers ? `triggers ${w.triggers.map((s) => `\`${s}\``).join(', ')}` : '',
      w.isFunction ? '' : 'Run by another nexlet: shown read-only.',
      ...drift,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  t.contextValue = w.isFunction ? (local ? 'nexWorkload04.function.local' : 'nexWorkload04.function') : 'nexWorkload04.other';
  return t;
}

export function workloads04StatusTreeItem(item: Workloads04StatusItem): TreeItem {
  // While WPING is under way, a problem (e.g. of INFO) is not the workloads' problem.
  const problem = item.node.workloads === undefined ? undefined : item.node.problem;
  const t = new TreeItem(problem ? 'workloads not read' : 'reading workloads…', TreeItemCollapsibleState.None);
  t.id = `workloads04-status:${item.node.id}:${problem ? 'problem' : 'reading'}`;
  t.description = problem ?? 'a 0.4.1 node answers WPING after about 2 s';
  t.iconPath = new ThemeIcon(problem ? 'warning' : 'loading~spin');
  return t;
}

export function unplaced04TreeItem(item: Unplaced04Item): TreeItem {
  const t = new TreeItem('Nex 0.4 workloads, node unknown', TreeItemCollapsibleState.Expanded);
  t.id = 'unplaced04';
  t.description = plural(item.workloads.length, 'workload');
  t.iconPath = new ThemeIcon('question');
  t.tooltip = 'A Nex 0.4 node does not name itself in its WPING answer: with several 0.4 nodes, workloads of nexlets other than the functions nexlet cannot be told apart by node.';
  return t;
}
