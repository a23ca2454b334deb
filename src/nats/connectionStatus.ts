/**
 * The one watcher of a NATS connection's state: connected, reconnecting after an outage, or closed
 * for good. The editor's status bar and the deployed model both follow it, so they never disagree
 * about the connection (each reading nc.status() on its own could).
 */
import type { NatsConnection, QueuedIterator, Status } from '@nats-io/nats-core';

export type LinkState = 'connected' | 'reconnecting' | 'closed';

/** A change of state, with the server's error when the connection closed because of one. */
export interface LinkChange {
  state: LinkState;
  /** Why it closed or went away, when the client said. */
  reason?: string;
}

export type LinkListener = (change: LinkChange) => void;

export class ConnectionStatus {
  private stateValue: LinkState;
  private connectedSinceValue = Date.now();
  private readonly listeners = new Set<LinkListener>();
  private stopped = false;
  private stopIterator?: () => void;

  constructor(private readonly nc: NatsConnection) {
    this.stateValue = nc.isClosed() ? 'closed' : 'connected';
    this.follow();
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** When the connection last came up (epoch ms): what was missed while it was down does not count. */
  get connectedSince(): number {
    return this.connectedSinceValue;
  }

  /** Calls `listener` on every change of state; `dispose()` removes it. */
  onDidChange(listener: LinkListener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Stops following (the connection itself stays as it is). */
  dispose(): void {
    this.stopped = true;
    this.stopIterator?.();
    this.listeners.clear();
  }

  private set(change: LinkChange): void {
    if (this.stopped || (change.state === this.stateValue && change.state !== 'closed')) {
      return;
    }
    if (change.state === 'connected') {
      this.connectedSinceValue = Date.now();
    }
    this.stateValue = change.state;
    for (const listener of [...this.listeners]) {
      listener(change);
    }
  }

  private follow(): void {
    const statuses = this.nc.status() as QueuedIterator<Status>;
    this.stopIterator = () => statuses.stop();
    void (async () => {
      for await (const status of statuses) {
        if (this.stopped) {
          return;
        }
        if (status.type === 'disconnect') {
          this.set({ state: 'reconnecting', reason: 'the server went away' });
        } else if (status.type === 'reconnect') {
          this.set({ state: 'connected' });
        }
      }
    })();
    void this.nc.closed().then((err) => {
      if (this.stateValue !== 'closed') {
        this.set({ state: 'closed', reason: err ? err.message : 'the connection was closed' });
      }
    });
  }
}
