/**
 * The "Deployed" view: the current connection's Nex nodes, their workloads in the namespace and
 * the workloads' trigger subjects, live (the DeployedModel follows events and heartbeats). A
 * workload whose name is a workspace function is marked, and so is one whose artifact differs from
 * the local one ("local changes not deployed").
 */
import { commands as Commands, Event, EventEmitter, MarkdownString, ThemeColor, ThemeIcon, TreeDataProvider, TreeItem, TreeItemCollapsibleState, TreeView, window as Window } from 'vscode';
import { isValid, ValidFunction } from '../../core/manifest';
import { localArtifactHash } from '../../deploy/artifactStore';
import { DeployedModel, DeployedSnapshot, NodeView, WorkloadView } from '../../explorer/deployedModel';
import { ConnectionManager, NexConnection } from '../connections/connectionManager';
import { FunctionCatalog } from '../functionCatalog';
import { DisposableObject } from '../lifecycle';

export class DeployedNodeItem {
  constructor(readonly node: NodeView) {}
}

export class DeployedWorkloadItem {
  constructor(
    readonly workload: WorkloadView,
    readonly local: ValidFunction | undefined,
  ) {}

  /** For the commands that take a function name (trigger, logs, undeploy). */
  get name(): string {
    return this.workload.name;
  }

  get function(): string | undefined {
    return this.local?.dir;
  }

  /** The namespace it runs in. */
  get namespace(): string {
    return this.workload.namespace;
  }
}

export class DeployedTriggerItem {
  constructor(
    readonly workload: WorkloadView,
    readonly subject: string,
  ) {}
}

type Item = DeployedNodeItem | DeployedWorkloadItem | DeployedTriggerItem;


/** The workspace function a deployed workload's name belongs to, if any. */
function localFunctionNamed(catalog: FunctionCatalog, name: string): ValidFunction | undefined {
  return catalog.functions.filter(isValid).find((f) => f.manifest.name === name);
}

class DeployedTreeProvider implements TreeDataProvider<Item> {
  private readonly changed = new EventEmitter<void>();
  readonly onDidChangeTreeData: Event<void> = this.changed.event;
  snapshot?: DeployedSnapshot;

  constructor(private readonly catalog: FunctionCatalog) {}

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
      return this.snapshot.nodes.map((n) => new DeployedNodeItem(n));
    }
    if (item instanceof DeployedNodeItem) {
      return item.node.workloads.map((w) => new DeployedWorkloadItem(w, localFunctionNamed(this.catalog, w.name)));
    }
    if (item instanceof DeployedWorkloadItem) {
      return (item.workload.triggers?.subjects ?? []).map((s) => new DeployedTriggerItem(item.workload, s));
    }
    return [];
  }

  getTreeItem(item: Item): TreeItem {
    if (item instanceof DeployedNodeItem) {
      const n = item.node;
      // Always expandable: a node's first deploy must show without the user opening it.
      const t = new TreeItem(n.name ?? n.id.slice(0, 12), TreeItemCollapsibleState.Expanded);
      t.id = `node:${n.id}`;
      const flags = [n.lameDuck ? 'lame duck' : '', n.state === 'unreachable' ? 'unreachable' : '', n.tags['nex.local'] === 'true' ? 'local' : ''].filter(Boolean);
      t.description = `Nex ${n.version} · ${n.workloads.length} in ${this.snapshot!.namespace} · up ${n.uptime}${flags.length ? ` · ${flags.join(' · ')}` : ''}`;
      t.iconPath = n.state === 'unreachable' || n.problem ? new ThemeIcon('warning', new ThemeColor('problemsWarningIcon.foreground')) : new ThemeIcon('server');
      t.tooltip = new MarkdownString(
        [`**${n.name ?? n.id}** (Nex ${n.version})`, `id \`${n.id}\``, n.xkey ? `xkey \`${n.xkey}\`` : '', n.supportedTypes ? `types: ${n.supportedTypes.join(', ')}` : '', n.stateReason ?? '', n.problem ? `problem: ${n.problem}` : '']
          .filter(Boolean)
          .join('\n\n'),
      );
      t.contextValue = 'nexNode';
      return t;
    }
    if (item instanceof DeployedWorkloadItem) {
      const w = item.workload;
      const t = new TreeItem(w.name, (w.triggers?.subjects.length ?? 0) > 0 ? TreeItemCollapsibleState.Collapsed : TreeItemCollapsibleState.None);
      t.id = `workload:${w.nodeId}:${w.id}`;
      const drift = item.local && localArtifactHash(item.local) !== w.hash;
      t.description = `${w.type} · ${w.id}${item.local ? (drift ? ' · local changes not deployed' : ' · local source') : ''}`;
      t.iconPath = new ThemeIcon(drift ? 'cloud-upload' : 'symbol-function');
      t.tooltip = new MarkdownString([`**${w.name}** (${w.type}) on ${w.nodeId.slice(0, 12)}…`, `id \`${w.id}\``, `hash \`${w.hash}\``, `runtime ${w.runtime}, up ${w.uptime}`, w.description].filter(Boolean).join('\n\n'));
      t.contextValue = item.local ? 'nexWorkload.local' : 'nexWorkload';
      return t;
    }
    const t = new TreeItem(item.subject, TreeItemCollapsibleState.None);
    t.id = `trigger:${item.workload.nodeId}:${item.workload.id}:${item.subject}`;
    t.iconPath = new ThemeIcon(/[*>]/.test(item.subject) ? 'symbol-namespace' : 'symbol-event');
    t.description = item.workload.triggers?.source === 'manifest' ? 'trigger (from the workspace manifest)' : 'trigger';
    t.contextValue = 'nexDeployedTrigger';
    return t;
  }
}

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
  ) {
    super();
    this.provider = this.register(new DeployedTreeProvider(catalog));
    this.view = this.register(Window.createTreeView('nex.deployed', { treeDataProvider: this.provider }));
    this.register(connections.onDidChangeConnection((c) => void this.follow(c)));
    this.register(catalog.onDidChange(() => this.provider.update(this.provider.snapshot)));
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
      inboxPrefix: connection.profile.inboxPrefix,
      triggersFor: (name) => {
        const local = localFunctionNamed(this.catalog, name);
        return local?.manifest.triggers ? { subjects: local.manifest.triggers, source: 'manifest' } : undefined;
      },
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
    const problems = [...snapshot.problems, ...snapshot.nodes.filter((n) => n.problem).map((n) => `${n.name ?? n.id.slice(0, 12)}: ${n.problem}`)];
    if (this.jetStreamMissing) {
      problems.unshift('This NATS server has no JetStream: deploys (the artifact\'s object store) and KV/object host services need it (start nats-server with -js)');
    }
    this.view.message =
      snapshot.nodes.length === 0
        ? `No Nex node answered on ${snapshot.connection === 'connected' ? 'this connection' : 'the connection (it is reconnecting)'}. Start the local node, or check that your nodes use this NATS account.`
        : problems.length > 0
          ? problems.join(' · ')
          : undefined;
  }
}
