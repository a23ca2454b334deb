/**
 * The "Deployed" view: the current connection's Nex nodes, under each its namespaces (the
 * connection's, every workspace manifest's deploy.namespace, and the ones the user added) with their
 * workloads, and under each workload the trigger subjects it was deployed with (its deploy record),
 * live (the DeployedModel follows events and heartbeats). A workload whose name is a workspace
 * function is marked, and so is how it differs from it: "local changes not deployed" (another
 * artifact), "triggers changed, not deployed" (the manifest's triggers differ from the deployed ones).
 */
import { commands as Commands, Event, EventEmitter, Memento, MarkdownString, ThemeColor, ThemeIcon, TreeDataProvider, TreeItem, TreeItemCollapsibleState, TreeView, window as Window } from 'vscode';
import { deployNamespaces, isValid, ValidFunction } from '../../core/manifest';
import { plural } from '../../core/bytes';
import { localArtifactHash } from '../../deploy/artifactStore';
import { DeployedModel, DeployedSnapshot, nodeLabel } from '../../explorer/deployedModel';
import { driftNotes, triggerDrift } from '../../explorer/deployDrift';
import { uptimeSince } from '../../nex/uptime';
import { ConnectionManager, NexConnection } from '../connections/connectionManager';
import { FunctionCatalog } from '../functionCatalog';
import { DisposableObject } from '../lifecycle';
import { DeployedNamespaceItem, DeployedNodeItem, DeployedTriggerItem, DeployedWorkloadItem, UnknownTriggersItem } from './deployedItems';
import {
  namespace04TreeItem,
  Namespace04Item,
  namespaces04,
  Nexlet04Item,
  nexlet04TreeItem,
  Node04Item,
  node04TreeItem,
  Unplaced04Item,
  unplaced04TreeItem,
  Workload04Item,
  workload04TreeItem,
  Workloads04StatusItem,
  workloads04StatusTreeItem,
} from './deployed04Items';

export { Namespace04Item, Nexlet04Item, Node04Item, Workload04Item } from './deployed04Items';

export { DeployedNamespaceItem, DeployedNodeItem, DeployedTriggerItem, DeployedWorkloadItem, UnknownTriggersItem } from './deployedItems';

type Item = DeployedNodeItem | DeployedNamespaceItem | DeployedWorkloadItem | DeployedTriggerItem | UnknownTriggersItem | Node04Item | Nexlet04Item | Namespace04Item | Workload04Item | Workloads04StatusItem | Unplaced04Item;

/** The workspace function a deployed workload's name belongs to, if any. */
function localFunctionNamed(catalog: FunctionCatalog, name: string): ValidFunction | undefined {
  return catalog.functions.filter(isValid).find((f) => f.manifest.name === name);
}

class DeployedTreeProvider implements TreeDataProvider<Item> {
  private readonly changed = new EventEmitter<void>();
  readonly onDidChangeTreeData: Event<void> = this.changed.event;
  snapshot?: DeployedSnapshot;

  constructor(
    private readonly catalog: FunctionCatalog,
    /** The namespaces the user added (they can be removed from the view). */
    private readonly added: () => readonly string[],
  ) {}

  update(snapshot: DeployedSnapshot | undefined): void {
    this.snapshot = snapshot;
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }


  getChildren(item?: Item): Item[] {
    if (!this.snapshot) {
      return [];
    }
    if (!item) {
      const unplaced = this.snapshot.workloads04Unplaced ?? [];
      return [...this.snapshot.nodes.map((n) => new DeployedNodeItem(n)), ...this.snapshot.nodes04.map((n) => new Node04Item(n)), ...(unplaced.length > 0 ? [new Unplaced04Item(unplaced)] : [])];
    }
    if (item instanceof Node04Item) {
      const n = item.node;
      const nexlets = (n.nexlets ?? []).map((a) => new Nexlet04Item(n, a));
      // Still reading (WPING takes about 2 s on 0.4.1), or read with a problem and nothing listed.
      if (n.workloads === undefined || (n.problem && n.workloads.length === 0)) {
        return [...nexlets, new Workloads04StatusItem(n)];
      }
      const workloads = n.workloads;
      return [...nexlets, ...namespaces04(this.snapshot.namespaces, workloads).map((ns) => new Namespace04Item(ns, workloads.filter((w) => w.namespace === ns), n))];
    }
    if (item instanceof Unplaced04Item) {
      return namespaces04([], item.workloads).map((ns) => new Namespace04Item(ns, item.workloads.filter((w) => w.namespace === ns)));
    }
    if (item instanceof Namespace04Item) {
      return item.workloads.map((w) => new Workload04Item(w, w.isFunction ? localFunctionNamed(this.catalog, w.name) : undefined));
    }
    if (item instanceof Workload04Item) {
      const deployed = item.workload.triggers;
      if (!deployed) {
        return [];
      }
      const drift = item.local && triggerDrift(deployed, item.local.manifest.triggers);
      return [
        ...deployed.map((s) => new DeployedTriggerItem(item.workload, s, drift?.removed.includes(s) ? 'removed' : 'deployed')),
        ...(drift?.added ?? []).map((s) => new DeployedTriggerItem(item.workload, s, 'added')),
      ];
    }
    if (item instanceof DeployedNodeItem) {
      return this.snapshot.namespaces.map((ns) => new DeployedNamespaceItem(item.node, ns));
    }
    if (item instanceof DeployedNamespaceItem) {
      return item.workloads.map((w) => new DeployedWorkloadItem(w, localFunctionNamed(this.catalog, w.name)));
    }
    if (item instanceof DeployedWorkloadItem) {
      const deployed = item.workload.triggers;
      if (!deployed) {
        return [new UnknownTriggersItem(item.workload)];
      }
      const drift = item.local && triggerDrift(deployed, item.local.manifest.triggers);
      return [
        ...deployed.map((s) => new DeployedTriggerItem(item.workload, s, drift?.removed.includes(s) ? 'removed' : 'deployed')),
        ...(drift?.added ?? []).map((s) => new DeployedTriggerItem(item.workload, s, 'added')),
      ];
    }
    return [];
  }

  getTreeItem(item: Item): TreeItem {
    if (item instanceof DeployedNodeItem) {
      const n = item.node;
      // Always expandable: a node's first deploy must show without the user opening it.
      const t = new TreeItem(nodeLabel(n.name, n.id), TreeItemCollapsibleState.Expanded);
      t.id = `node:${n.id}`;
      const flags = [n.lameDuck ? 'lame duck' : '', n.state === 'unreachable' ? 'unreachable' : '', n.tags['nex.local'] === 'true' ? 'local' : ''].filter(Boolean);
      const up = uptimeSince(n.startedAt, n.uptime);
      t.description = [`Nex ${n.version || '?'}`, plural(n.workloads.length, 'workload'), up ? `up ${up}` : '', ...flags].filter(Boolean).join(' · ');
      t.iconPath = n.state === 'unreachable' || n.problem ? new ThemeIcon('warning', new ThemeColor('problemsWarningIcon.foreground')) : new ThemeIcon('server');
      t.tooltip = new MarkdownString(
        [`**${n.name ?? n.id}** (Nex ${n.version})`, `id \`${n.id}\``, n.xkey ? `xkey \`${n.xkey}\`` : '', n.supportedTypes ? `types: ${n.supportedTypes.join(', ')}` : '', n.stateReason ?? '', n.problem ? `problem: ${n.problem}` : '']
          .filter(Boolean)
          .join('\n\n'),
      );
      t.contextValue = 'nexNode';
      return t;
    }
    if (item instanceof DeployedNamespaceItem) {
      const count = item.workloads.length;
      const t = new TreeItem(item.namespace, count > 0 ? TreeItemCollapsibleState.Expanded : TreeItemCollapsibleState.None);
      // A namespace that gains its first workload is a new item, so it opens (VS Code keeps an item's folded state by id).
      t.id = `namespace:${item.node.id}:${item.namespace}${count > 0 ? '' : ':empty'}`;
      t.description = count > 0 ? plural(count, 'workload') : 'no workloads';
      t.iconPath = new ThemeIcon('folder-library');
      t.tooltip = `The namespace ${item.namespace} on ${nodeLabel(item.node.name, item.node.id)}`;
      t.contextValue = this.added().includes(item.namespace) ? 'nexNamespace.added' : 'nexNamespace';
      return t;
    }
    if (item instanceof DeployedWorkloadItem) {
      const w = item.workload;
      const t = new TreeItem(w.name, TreeItemCollapsibleState.Collapsed);
      t.id = `workload:${w.nodeId}:${w.id}`;
      const local = item.local;
      const drift = local ? driftNotes({ sourceChanged: localArtifactHash(local) !== w.hash, triggers: triggerDrift(w.triggers, local.manifest.triggers) }) : [];
      t.description = [w.type, w.id, local ? (drift.length > 0 ? drift.join(' · ') : 'local source') : '', w.triggers ? '' : 'triggers unknown'].filter(Boolean).join(' · ');
      t.iconPath = drift.length > 0 ? new ThemeIcon('cloud-upload', new ThemeColor('problemsWarningIcon.foreground')) : new ThemeIcon('symbol-function');
      const up = uptimeSince(w.startedAt, w.uptime);
      t.tooltip = new MarkdownString(
        [
          `**${w.name}** (${w.type}) on ${w.nodeId.slice(0, 12)}…, namespace ${w.namespace}`,
          `id \`${w.id}\``,
          `hash \`${w.hash}\``,
          `runtime ${w.runtime}${up ? `, up ${up}` : ''}`,
          w.triggers ? `deployed with triggers ${w.triggers.map((s) => `\`${s}\``).join(', ')}` : 'triggers unknown: no deploy record (deployed by another tool than nexfn or this extension)',
          ...drift,
          w.description,
        ]
          .filter(Boolean)
          .join('\n\n'),
      );
      t.contextValue = item.local ? 'nexWorkload.local' : 'nexWorkload';
      return t;
    }
    if (item instanceof Node04Item) {
      return node04TreeItem(item.node);
    }
    if (item instanceof Nexlet04Item) {
      return nexlet04TreeItem(item);
    }
    if (item instanceof Namespace04Item) {
      return namespace04TreeItem(item);
    }
    if (item instanceof Workload04Item) {
      return workload04TreeItem(item, localArtifactHash);
    }
    if (item instanceof Workloads04StatusItem) {
      return workloads04StatusTreeItem(item);
    }
    if (item instanceof Unplaced04Item) {
      return unplaced04TreeItem(item);
    }
    if (item instanceof UnknownTriggersItem) {
      const t = new TreeItem('triggers unknown', TreeItemCollapsibleState.None);
      t.id = `trigger-unknown:${item.workload.nodeId}:${item.workload.id}`;
      t.description = 'no deploy record: deployed by another tool';
      t.iconPath = new ThemeIcon('question');
      t.tooltip = 'A Nex 0.2/0.3 node does not report trigger subjects. nexfn and this extension record them when they deploy; this workload has no such record.';
      return t;
    }
    const t = new TreeItem(item.subject, TreeItemCollapsibleState.None);
    t.id = `trigger:${item.workload.nodeId ?? 'unplaced'}:${item.workload.id}:${item.subject}:${item.state}`;
    t.iconPath =
      item.state === 'deployed' ? new ThemeIcon(/[*>]/.test(item.subject) ? 'symbol-namespace' : 'symbol-event') : new ThemeIcon(item.state === 'added' ? 'diff-added' : 'diff-removed', new ThemeColor('problemsWarningIcon.foreground'));
    t.description = item.state === 'deployed' ? 'trigger' : item.state === 'added' ? 'in the manifest, not deployed' : 'deployed, no longer in the manifest';
    t.contextValue = item.state === 'added' ? undefined : 'nexDeployedTrigger';
    return t;
  }
}

/** A tree item as rendered, with its children. */
export interface RenderedItem {
  label: string;
  description: string;
  icon?: string;
  children: RenderedItem[];
}

/** Where the namespaces the user added to the view are kept (per workspace). */
const ADDED_NAMESPACES = 'nex.deployed.namespaces';

export class DeployedView extends DisposableObject {
  private readonly provider: DeployedTreeProvider;
  private readonly view: TreeView<Item>;
  private model?: DeployedModel;
  private jetStreamMissing = false;
  private readonly snapshotChanged = this.register(new EventEmitter<DeployedSnapshot | undefined>());
  /** Fires with what the view shows after it changed; undefined when there is no connection. */
  readonly onDidChange: Event<DeployedSnapshot | undefined> = this.snapshotChanged.event;

  constructor(
    connections: ConnectionManager,
    private readonly catalog: FunctionCatalog,
    private readonly memento: Memento,
  ) {
    super();
    this.provider = this.register(new DeployedTreeProvider(catalog, () => this.addedNamespaces));
    this.view = this.register(Window.createTreeView('nex.deployed', { treeDataProvider: this.provider }));
    this.register(connections.onDidChangeConnection((c) => void this.follow(c)));
    this.register(
      catalog.onDidChange(() => {
        this.model?.setNamespaces(this.namespaces);
        this.provider.update(this.provider.snapshot);
      }),
    );
    void Commands.executeCommand('setContext', 'nex.connected', false);
  }

  /** What the view shows now (for the test API and commands). */
  get snapshot(): DeployedSnapshot | undefined {
    return this.provider.snapshot;
  }

  /** Reads the nodes again now. */
  async refresh(): Promise<DeployedSnapshot | undefined> {
    return this.model?.refresh();
  }

  /** The tree as it renders now, labels and descriptions, every level (for the test API). */
  renderedTree(): RenderedItem[] {
    const render = (item?: Item): RenderedItem[] =>
      this.provider.getChildren(item).map((child) => {
        const t = this.provider.getTreeItem(child);
        return {
          label: typeof t.label === 'string' ? t.label : (t.label?.label ?? ''),
          description: typeof t.description === 'string' ? t.description : '',
          ...(t.iconPath instanceof ThemeIcon ? { icon: t.iconPath.id } : {}),
          children: render(child),
        };
      });
    return render();
  }

  /** The message shown above the tree. */
  get message(): string | undefined {
    return this.view.message;
  }

  /** The namespaces the user added to the view. */
  get addedNamespaces(): string[] {
    return this.memento.get<string[]>(ADDED_NAMESPACES) ?? [];
  }

  /** Shows this namespace too, on every connection of the workspace; reads it now. */
  async addNamespace(namespace: string): Promise<DeployedSnapshot | undefined> {
    await this.memento.update(ADDED_NAMESPACES, [...new Set([...this.addedNamespaces, namespace])].sort());
    this.model?.setNamespaces(this.namespaces);
    return this.model?.refresh();
  }

  /** Stops showing a namespace the user added. */
  async removeNamespace(namespace: string): Promise<void> {
    await this.memento.update(ADDED_NAMESPACES, this.addedNamespaces.filter((ns) => ns !== namespace));
    this.model?.setNamespaces(this.namespaces);
    if (!this.model) {
      this.provider.update(this.provider.snapshot);
    }
  }

  /** A stop the node confirmed: the row goes now. */
  workloadStopped(nodeId: string, workloadId: string): void {
    this.model?.workloadStopped(nodeId, workloadId);
  }

  /** A deploy the node confirmed: its node is read again now. */
  async workloadDeployed(nodeId: string): Promise<DeployedSnapshot | undefined> {
    await this.model?.workloadDeployed(nodeId);
    return this.model?.snapshot();
  }

  /** The namespaces read besides the connection's: every workspace manifest's deploy.namespace, and the added ones. */
  private get namespaces(): string[] {
    return [...new Set([...deployNamespaces(this.catalog.functions.filter(isValid)), ...this.addedNamespaces])];
  }

  private async follow(connection: NexConnection | undefined): Promise<void> {
    this.model = undefined;
    this.provider.update(undefined);
    this.snapshotChanged.fire(undefined);
    void Commands.executeCommand('setContext', 'nex.connected', connection !== undefined);
    this.view.message = undefined;
    if (!connection) {
      return;
    }
    const model = new DeployedModel({
      nc: connection.nc,
      namespace: connection.namespace,
      namespaces: this.namespaces,
      inboxPrefix: connection.profile.inboxPrefix,
      status: connection.status,
    });
    this.model = model;
    this.jetStreamMissing = connection.nc.info?.jetstream !== true;
    connection.scope.add({ dispose: () => model.dispose() });
    connection.scope.add(model.onDidChange((snapshot) => this.show(model, snapshot)));
    const first = await model.start();
    this.show(model, first);
  }

  private show(model: DeployedModel, snapshot: DeployedSnapshot): void {
    if (this.model !== model) {
      return;
    }
    this.provider.update(snapshot);
    this.snapshotChanged.fire(snapshot);
    this.view.message = deployedViewMessage(snapshot, this.jetStreamMissing);
  }
}

/**
 * The line above the Deployed tree: the connection's state first (while it is down, nodes are
 * shown as last seen and nothing is blamed on them), then what no node answered, then problems.
 */
export function deployedViewMessage(snapshot: DeployedSnapshot, jetStreamMissing: boolean): string | undefined {
  if (snapshot.connection === 'reconnecting') {
    return 'The NATS connection is down and reconnecting: the nodes are shown as they were last seen.';
  }
  if (snapshot.connection === 'closed') {
    return 'The NATS connection is closed: the nodes are shown as they were last seen. Nex: Connect… to connect again.';
  }
  if (snapshot.nodes.length === 0 && snapshot.nodes04.length === 0) {
    return snapshot.refreshedAt ? 'No Nex node answered on this connection. Start the local node, or check that your nodes use this NATS account.' : 'Looking for Nex nodes…';
  }
  const problems = [...snapshot.problems, ...snapshot.nodes.filter((n) => n.problem).map((n) => `${nodeLabel(n.name, n.id)}: ${n.problem}`)];
  if (jetStreamMissing) {
    problems.unshift("This NATS server has no JetStream: deploys (the artifact's object store) and KV/object host services need it (start nats-server with -js)");
  }
  problems.push(...snapshot.nodes04.filter((n) => n.problem).map((n) => `${nodeLabel(n.name, n.id)}: ${n.problem}`));
  return problems.length > 0 ? problems.join(' · ') : undefined;
}
