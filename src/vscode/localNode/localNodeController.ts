/**
 * The editor's local Nex node: starts and stops it through LocalNodeHost (the same way `nexfn node`
 * does), writes its log lines to a "Nex Local Node" log channel and shows its state in the status
 * bar. It runs code deployed from the workspace, so it starts only in a trusted workspace. At most
 * one node runs per window, and disposing the controller stops it with its private nats-server:
 * the extension never leaves a nats-server running behind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { commands as Commands, Event, EventEmitter, LogOutputChannel, StatusBarAlignment, StatusBarItem, window as Window, workspace as Workspace } from 'vscode';
import { LocalNodeHost, LocalNodeHostOptions, LocalNodeNats } from '../../devnode/localNodeHost';
import { NodeLogLevel } from '../../devnode/localNode';
import { EMULATED_VERSIONS, localNodeName } from '../../devnode/nodeConfig';
import { parseServers } from '../../nats/connection';
import { Config, LocalNodeSettings } from '../config';
import { DisposableObject } from '../lifecycle';
import { UserInterface } from '../ui';

export const LOCAL_NODE_LOG_NAME = 'Nex Local Node';
const SHOW_LOCAL_NODE_LOG = 'nex.showLocalNodeLog';
/** The context key menus use to offer Start Local Node only while it is stopped, and Stop only while it runs or starts. */
export const LOCAL_NODE_RUNNING_CONTEXT = 'nex.localNode.running';

export interface LocalNodeControllerDeps {
  /** Where the node keeps its identity, artifacts and private NATS data. */
  stateDir: string;
  config: Config;
  /** The current UI port (tests swap it), for problems that no command reports. */
  ui: () => UserInterface;
}

/** A node that stopped, with what it ran when it was asked to stop: a stop loses its workloads, as on a real node. */
export interface LocalNodeStopped {
  nodeId: string;
  nodeName: string;
  workloads: ReadonlyArray<{ id: string; name: string; namespace: string }>;
  /** `stop`: Stop Local Node, or any other stop; `restart`: stopped to start again with new settings. */
  reason: 'stop' | 'restart';
}

/** What the status bar shows. */
type NodeState = { kind: 'stopped' } | { kind: 'starting' } | { kind: 'running'; host: LocalNodeHost } | { kind: 'error'; message: string };

export class LocalNodeController extends DisposableObject {
  readonly log: LogOutputChannel = this.register(Window.createOutputChannel(LOCAL_NODE_LOG_NAME, { log: true }));
  private readonly statusBar: StatusBarItem = this.register(Window.createStatusBarItem('nex.localNode', StatusBarAlignment.Left, 40));
  private state: NodeState = { kind: 'stopped' };
  /** Starts and stops run one after the other, in the order asked. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The start asked for and not yet done: a second start joins it instead of starting another node. */
  private pendingStart?: Promise<LocalNodeHost>;
  private stopListening?: () => void;
  private disposed = false;
  /** The value last given to the `nex.localNode.running` context key. */
  private runningContext?: boolean;
  private readonly stopped = this.register(new EventEmitter<LocalNodeStopped>());
  /** Fires once a running node has stopped, with what it ran (not on the stop of `dispose()`). */
  readonly onDidStop: Event<LocalNodeStopped> = this.stopped.event;

  constructor(private readonly deps: LocalNodeControllerDeps) {
    super();
    this.statusBar.name = LOCAL_NODE_LOG_NAME;
    this.statusBar.command = SHOW_LOCAL_NODE_LOG;
    this.register(
      deps.config.onDidChange((e) => {
        if (deps.config.affectsLocalNodeRestart(e)) {
          void this.restartForSettings();
        }
      }),
    );
    this.render();
  }

  /** The running node's host, if any. */
  get host(): LocalNodeHost | undefined {
    return this.state.kind === 'running' ? this.state.host : undefined;
  }

  /** True while a start is asked for and not done. */
  get isStarting(): boolean {
    return this.pendingStart !== undefined;
  }

  /** What the `nex.localNode.running` context key was last set to (for the test API). */
  get runningContextKey(): boolean | undefined {
    return this.runningContext;
  }

  /** What the status bar says (for the test API). */
  get statusText(): string {
    return this.statusBar.text;
  }

  /**
   * Starts the node, or returns the one running or starting. Refuses in an untrusted workspace
   * (commands ask for trust first). Throws what went wrong, e.g. how to install nats-server.
   */
  start(): Promise<LocalNodeHost> {
    if (this.disposed) {
      return Promise.reject(new Error('the extension is shutting down: the local Nex node does not start now'));
    }
    if (!Workspace.isTrusted) {
      return Promise.reject(new Error('the local Nex node starts only in a trusted workspace: it runs functions deployed from this workspace'));
    }
    if (!this.pendingStart) {
      const started = this.enqueue(() => Promise.resolve(this.host ?? this.launch())).finally(() => {
        if (this.pendingStart === started) {
          this.pendingStart = undefined;
        }
      });
      this.pendingStart = started;
    }
    return this.pendingStart;
  }

  /** Stops the node (its workloads first) and the private nats-server it started; nothing when none runs. */
  stop(reason: LocalNodeStopped['reason'] = 'stop'): Promise<void> {
    // A start asked for after this stop starts a new node, rather than joining the old start.
    this.pendingStart = undefined;
    return this.enqueue(() => this.shutdown(reason));
  }

  showLog(): void {
    this.log.show();
  }

  /**
   * Stops the node and its nats-server (asynchronously: `deactivate` awaits `stop()` so the
   * extension host waits for them), and releases the log channel and the status bar.
   */
  override dispose(): void {
    if (this.disposed) {
      return;
    }
    void this.stop();
    this.disposed = true;
    super.dispose();
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async launch(): Promise<LocalNodeHost> {
    this.show({ kind: 'starting' });
    try {
      const settings = this.deps.config.localNode;
      fs.mkdirSync(this.deps.stateDir, { recursive: true });
      const options: LocalNodeHostOptions = {
        stateDir: this.deps.stateDir,
        nats: natsOf(settings),
        // "vscode-<host>": told apart from a `nexfn node` ("nexfn-<host>") in any list of nodes.
        config: { emulate: checkedEmulate(settings), nodeName: localNodeName('vscode') },
        // Attached to natsUrl: only your own issuer (the one deploys sign with) and the listed ones.
        issuers: { keysDir: this.deps.config.deployKeysDir || undefined, validIssuers: settings.validIssuers },
        log: (level, text) => this.write(level, text),
      };
      this.write('info', `starting the local Nex node (emulating ${settings.emulate}) in ${this.deps.stateDir}, ${'start' in options.nats ? 'on a private nats-server' : `attached to ${settings.natsUrl}`}`);
      const host = await LocalNodeHost.start(options);
      this.stopListening = host.node.onDidChange(() => this.render());
      this.show({ kind: 'running', host });
      return host;
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      this.write('error', `the local Nex node did not start: ${message}`);
      this.show({ kind: 'error', message });
      throw e;
    }
  }

  private async shutdown(reason: LocalNodeStopped['reason']): Promise<void> {
    const host = this.host;
    if (!host) {
      if (this.state.kind === 'error') {
        this.show({ kind: 'stopped' });
      }
      return;
    }
    this.stopListening?.();
    this.stopListening = undefined;
    const { node } = host;
    const stopped: LocalNodeStopped = { nodeId: node.nodeId, nodeName: node.config.nodeName, workloads: node.workloads.map((w) => ({ id: w.id, name: w.name, namespace: w.namespace })), reason };
    try {
      await host.stop();
    } catch (e) {
      this.write('error', `stopping the local Nex node: ${(e as Error)?.stack ?? String(e)}`);
    }
    if (host.server) {
      this.write('info', `stopped the private nats-server ${host.natsUrl}`);
    }
    this.show({ kind: 'stopped' });
    if (!this.disposed) {
      this.stopped.fire(stopped);
    }
  }

  /** The node takes new NATS or emulation settings only at start: restart a node that runs, starts or failed to start. */
  private async restartForSettings(): Promise<void> {
    if (this.disposed || this.state.kind === 'stopped') {
      return;
    }
    this.write('info', 'the local node settings changed: restarting the node (its deployed workloads are gone, as after any restart)');
    await this.stop('restart');
    try {
      await this.start();
    } catch (e) {
      const choice = await this.deps.ui().error(`Nex: the local node did not restart with the new settings: ${(e as Error)?.message ?? String(e)}`, 'Show Log');
      if (choice) {
        this.showLog();
      }
    }
  }

  /** A line in the node's log channel (nothing once the channel is gone). */
  private write(level: NodeLogLevel, text: string): void {
    if (!this.disposed) {
      this.log[level](text);
    }
  }

  private show(state: NodeState): void {
    this.state = state;
    this.render();
  }

  private render(): void {
    if (this.disposed) {
      return;
    }
    const bar = this.statusBar;
    const state = this.state;
    switch (state.kind) {
      case 'stopped':
        bar.text = '$(circle-slash) Nex node: stopped';
        bar.tooltip = 'The local Nex node is not running. Click to start it (Nex: Start Local Node).';
        break;
      case 'starting':
        bar.text = '$(loading~spin) Nex node: starting…';
        bar.tooltip = 'The local Nex node is starting. Click to show its log.';
        break;
      case 'running': {
        const { node, natsUrl, server } = state.host;
        const count = node.workloads.length;
        bar.text = `$(server) Nex node: ${count} function${count === 1 ? '' : 's'}`;
        bar.tooltip = [
          `Local Nex node ${node.nodeId}${node.isLameDuck ? ' (lame duck)' : ''}`,
          `Emulates Nex ${node.version}`,
          `NATS: ${natsUrl}${server ? ' (a private nats-server, stopped with the node)' : ''}`,
          ...node.workloads.map((w) => `• ${w.name}`),
          'Deployed workloads do not survive a restart of the node, as on a real node.',
          'Click to show its log.',
        ].join('\n');
        break;
      }
      case 'error':
        bar.text = '$(error) Nex node: error';
        bar.tooltip = state.message;
        break;
    }
    bar.command = state.kind === 'stopped' ? 'nex.startLocalNode' : SHOW_LOCAL_NODE_LOG;
    bar.show();
    const running = state.kind === 'running' || state.kind === 'starting';
    if (running !== this.runningContext) {
      this.runningContext = running;
      void Commands.executeCommand('setContext', LOCAL_NODE_RUNNING_CONTEXT, running);
    }
  }
}

/** How the node reaches NATS: attach to the URLs of the settings, else start a private nats-server. */
function natsOf(settings: LocalNodeSettings): LocalNodeNats {
  if (settings.natsUrl === '') {
    return { start: { binary: settings.natsServerPath || undefined } };
  }
  let servers: string[];
  try {
    servers = parseServers(settings.natsUrl);
  } catch (e) {
    throw new Error(`nex.localNode.natsUrl: ${(e as Error).message.replace(/^servers: /, '')}`);
  }
  if (servers.some((s) => /^[a-z]+:\/\/[^/]*@/i.test(s))) {
    throw new Error('nex.localNode.natsUrl holds credentials (user:password@ or token@): settings are no place for secrets; attach to a NATS server without them, or run "nexfn node --context <nats context>"');
  }
  return { attach: { servers } };
}

function checkedEmulate(settings: LocalNodeSettings): LocalNodeSettings['emulate'] {
  if (!EMULATED_VERSIONS.includes(settings.emulate)) {
    throw new Error(`nex.localNode.emulate must be one of ${EMULATED_VERSIONS.join(', ')}, not "${settings.emulate}"`);
  }
  return settings.emulate;
}

/** The node's state folder under the extension's global storage. */
export function localNodeStateDir(globalStoragePath: string): string {
  return path.join(globalStoragePath, 'local-node');
}
