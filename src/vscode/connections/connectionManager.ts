/**
 * The editor's NATS connection: to the local Nex node (built in), a saved connection, or a nats CLI
 * context. One at a time; what belongs to it lives in the context's connection scope and goes with
 * it. A status bar item says which connection and in what state (connecting, connected,
 * reconnecting, offline with the reason); it reconnects by itself after an outage and says so.
 */
import { Event, EventEmitter, LogOutputChannel, SecretStorage, StatusBarAlignment, ThemeColor, window as Window } from 'vscode';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionProfile, ConnectionSecrets, connectNats, loadNatsContext } from '../../nats/connection';
import { DEFAULT_NAMESPACE } from '../../core/subject';
import { ConnectionStatus } from '../../nats/connectionStatus';
import { DisposableObject, DisposableStore } from '../lifecycle';
import { profileOf, readSecrets, savedConnections } from './savedConnections';

/** What to connect to; the local node and a nats context take the namespace given (default "default"), a saved connection its own. */
export type ConnectionTarget = { kind: 'local'; namespace?: string } | { kind: 'saved'; name: string } | { kind: 'context'; name: string; namespace?: string };

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** A live connection. */
export interface NexConnection {
  target: ConnectionTarget;
  label: string;
  nc: NatsConnection;
  profile: ConnectionProfile;
  namespace: string;
  /** Its state (connected, reconnecting, closed): the one source the status bar and the Deployed view follow. */
  status: ConnectionStatus;
  /** Disposed when this connection goes. */
  scope: DisposableStore;
}

/** What a connection to the local node needs of it: started (or running), the URL of its nats-server. */
export interface LocalNats {
  start(): Promise<{ readonly natsUrl: string }>;
}

export interface ConnectionManagerDeps {
  localNode: LocalNats;
  secrets: SecretStorage;
  log: LogOutputChannel;
  /** Disposes the previous connection's resources and gives a fresh scope (NexExtension.newConnectionScope). */
  newScope: () => DisposableStore;
}


export function targetLabel(target: ConnectionTarget): string {
  const ns = target.kind !== 'saved' && target.namespace && target.namespace !== DEFAULT_NAMESPACE ? ` (${target.namespace})` : '';
  return (target.kind === 'local' ? 'local node' : target.kind === 'context' ? `context ${target.name}` : target.name) + ns;
}

export class ConnectionManager extends DisposableObject {
  private readonly statusBar = this.register(Window.createStatusBarItem('nex.connection', StatusBarAlignment.Left, 39));
  private readonly changed = this.register(new EventEmitter<NexConnection | undefined>());
  /** Fires when the connection changes (undefined: disconnected). */
  readonly onDidChangeConnection: Event<NexConnection | undefined> = this.changed.event;
  private live?: NexConnection;
  private stateValue: ConnectionState = 'disconnected';
  private reason = '';
  private attempt = 0;
  /** What was connected to last, or asked for: kept while connecting and offline. */
  private attempted?: ConnectionTarget;

  constructor(private readonly deps: ConnectionManagerDeps) {
    super();
    this.statusBar.name = 'Nex Connection';
    this.statusBar.command = 'nex.connect';
    this.render();
  }

  get connection(): NexConnection | undefined {
    return this.live;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get statusText(): string {
    return this.statusBar.text;
  }

  /**
   * What the connection is to: the live one, or the one being connected or that failed (offline);
   * undefined once disconnected.
   */
  get target(): ConnectionTarget | undefined {
    return this.live?.target ?? (this.stateValue === 'disconnected' ? undefined : this.attempted);
  }

  /** Connects (replacing the current connection); throws a message that says what to fix. */
  async connect(target: ConnectionTarget): Promise<NexConnection> {
    const attempt = ++this.attempt;
    this.closeCurrent();
    this.setState('connecting', '', target);
    try {
      const { profile, secrets, namespace } = await this.resolve(target);
      const nc = await connectNats(profile, secrets, { name: 'nex-functions' });
      if (attempt !== this.attempt) {
        await nc.close();
        throw new Error('another connection was asked for meanwhile');
      }
      const scope = this.deps.newScope();
      const status = new ConnectionStatus(nc);
      const connection: NexConnection = { target, label: targetLabel(target), nc, profile, namespace, status, scope };
      scope.add({ dispose: () => void nc.close().catch(() => undefined) });
      scope.add(status);
      this.live = connection;
      this.watch(connection);
      this.deps.log.info(`connected to ${connection.label} (${profile.servers.join(', ')}), namespace ${namespace}${nc.info?.jetstream ? '' : '; the server has no JetStream: deploys and host services will fail'}`);
      this.setState('connected');
      this.changed.fire(connection);
      return connection;
    } catch (e) {
      if (attempt === this.attempt) {
        this.setState('offline', (e as Error).message, target);
      }
      throw e;
    }
  }

  /** Closes the connection and everything that belongs to it. */
  disconnect(): void {
    this.attempt++;
    this.closeCurrent();
    this.setState('disconnected');
  }

  private closeCurrent(): void {
    if (this.live) {
      this.deps.log.info(`disconnected from ${this.live.label}`);
      this.live = undefined;
      this.deps.newScope();
      this.changed.fire(undefined);
    }
  }

  private async resolve(target: ConnectionTarget): Promise<{ profile: ConnectionProfile; secrets: ConnectionSecrets; namespace: string }> {
    if (target.kind === 'local') {
      const host = await this.deps.localNode.start();
      return { profile: { servers: [host.natsUrl] }, secrets: {}, namespace: target.namespace || DEFAULT_NAMESPACE };
    }
    if (target.kind === 'context') {
      const context = loadNatsContext(target.name);
      return { profile: context.profile, secrets: context.secrets, namespace: target.namespace || DEFAULT_NAMESPACE };
    }
    const saved = savedConnections().find((c) => c.name === target.name);
    if (!saved) {
      throw new Error(`there is no saved connection "${target.name}" in the nex.connections setting`);
    }
    return { profile: profileOf(saved), secrets: await readSecrets(this.deps.secrets, saved.name), namespace: saved.namespace || DEFAULT_NAMESPACE };
  }

  /** Follows the connection's status: reconnecting, back, or closed for good. */
  private watch(connection: NexConnection): void {
    connection.scope.add(
      connection.status.onDidChange(({ state, reason }) => {
        if (this.live !== connection) {
          return;
        }
        if (state === 'reconnecting') {
          this.setState('reconnecting', reason ?? 'the server went away');
          this.deps.log.warn(`lost the connection to ${connection.label}: reconnecting…`);
        } else if (state === 'connected') {
          this.setState('connected');
          this.deps.log.info(`reconnected to ${connection.label}`);
        } else {
          this.live = undefined;
          this.setState('offline', reason ?? 'the connection was closed');
          this.changed.fire(undefined);
        }
      }),
    );
  }

  private setState(state: ConnectionState, reason = '', target?: ConnectionTarget): void {
    if (target) {
      this.attempted = target;
    }
    this.stateValue = state;
    this.reason = reason;
    this.render(target);
  }

  private render(target: ConnectionTarget | undefined = this.live?.target): void {
    const bar = this.statusBar;
    const label = target ? targetLabel(target) : '';
    bar.backgroundColor = undefined;
    switch (this.stateValue) {
      case 'disconnected':
        bar.text = '$(debug-disconnect) Nex: not connected';
        bar.tooltip = 'Not connected to NATS. Click to connect (the local Nex node, a saved connection or a nats context).';
        break;
      case 'connecting':
        bar.text = `$(loading~spin) Nex: ${label}`;
        bar.tooltip = `Connecting to ${label}…`;
        break;
      case 'connected':
        bar.text = `$(plug) Nex: ${label}`;
        bar.tooltip = `Connected to ${label} (${this.live?.profile.servers.join(', ')}), namespace ${this.live?.namespace}. Click to switch.`;
        break;
      case 'reconnecting':
        bar.text = `$(sync~spin) Nex: ${label} (reconnecting)`;
        bar.tooltip = `${label}: ${this.reason}; reconnecting by itself. Click to switch.`;
        bar.backgroundColor = new ThemeColor('statusBarItem.warningBackground');
        break;
      case 'offline':
        bar.text = `$(error) Nex: ${label || 'offline'}`;
        bar.tooltip = `Offline: ${this.reason}. Click to connect again or to switch.`;
        bar.backgroundColor = new ThemeColor('statusBarItem.errorBackground');
        break;
    }
    bar.show();
  }

  override dispose(): void {
    this.attempt++;
    this.live = undefined;
    super.dispose();
  }
}
