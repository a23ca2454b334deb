/**
 * The deployed model's timing, apart from what it reads: the periodic re-read with its backoff, the
 * grace after a reconnect with its quick re-reads, and the coalesced, frozen snapshots its listeners
 * get. Each is driven by the model (deployedModel.ts) through callbacks; none reads NATS itself.
 */

/**
 * The periodic re-read: `refreshMinMs` after a refresh that saw the structure change (or after a
 * change since the last one), else twice the last wait, up to `refreshMaxMs`. A change of structure
 * between refreshes restarts the backoff at once.
 */
export class RefreshBackoff {
  private delay: number;
  /** Counts changes of the node/workload structure (not of uptimes or last-seen times): the backoff restarts on one. */
  private version = 0;
  private versionAtLastRefresh = 0;
  private lastKey = '';
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly timing: { refreshMinMs: number; refreshMaxMs: number },
    private readonly state: { live: () => boolean; closed: () => boolean; refreshing: () => boolean },
    private readonly refresh: () => void,
  ) {
    this.delay = timing.refreshMinMs;
  }

  /** A refresh ended: the next one is scheduled. */
  afterRefresh(): void {
    if (!this.state.live()) {
      return;
    }
    const changedSince = this.version !== this.versionAtLastRefresh;
    this.versionAtLastRefresh = this.version;
    this.delay = changedSince ? this.timing.refreshMinMs : Math.min(this.delay * 2, this.timing.refreshMaxMs);
    this.arm();
  }

  /** The structure as it is now (a key that changes with it): a change restarts the backoff. */
  noteStructure(key: string): void {
    if (key === this.lastKey) {
      return;
    }
    this.lastKey = key;
    this.version++;
    if (this.state.live() && !this.state.refreshing() && this.delay > this.timing.refreshMinMs) {
      this.delay = this.timing.refreshMinMs;
      this.arm();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (!this.state.live() || this.state.closed()) {
      return;
    }
    this.timer = setTimeout(() => this.refresh(), this.delay);
    this.timer.unref?.();
  }
}

/**
 * After the connection comes back, nodes have `reconnectGraceMs` to answer again before they count
 * as unreachable (their own connections reconnect too, a little later); meanwhile the model re-reads
 * every `reconnectPollMs` while a node known before has not answered yet.
 */
export class ReconnectGrace {
  /** Until when (epoch ms) nodes not heard from since the connection came back are not marked unreachable. */
  private until = 0;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly timing: { reconnectGraceMs: number; reconnectPollMs: number },
    /** Whether a re-read is still wanted: the connection is up and a node known before has not answered. */
    private readonly waiting: () => boolean,
    private readonly refresh: () => Promise<unknown>,
  ) {}

  get active(): boolean {
    return Date.now() < this.until;
  }

  /** The connection came back now. */
  begin(): void {
    this.until = Date.now() + this.timing.reconnectGraceMs;
  }

  /** After a re-read: re-reads soon while it is still wanted, within the grace; once more when the grace is over. */
  poll(): void {
    clearTimeout(this.timer);
    if (!this.waiting()) {
      return;
    }
    if (Date.now() >= this.until) {
      void this.refresh();
      return;
    }
    this.timer = setTimeout(() => void this.refresh().then(() => this.poll()), this.timing.reconnectPollMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** Freezes plain data all the way down. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** The state as frozen plain data, the same object until something changes; listeners hear at most once per `coalesceMs`. */
export class SnapshotNotifier<T> {
  private readonly listeners = new Set<(snapshot: T) => void>();
  private cached?: T;
  private timer?: ReturnType<typeof setTimeout>;
  private lastNotified = 0;

  constructor(
    private readonly build: () => T,
    private readonly coalesceMs: number,
  ) {}

  snapshot(): T {
    this.cached ??= deepFreeze(this.build());
    return this.cached;
  }

  onDidChange(listener: (snapshot: T) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Something changed: the next snapshot is built afresh. */
  invalidate(): void {
    this.cached = undefined;
  }

  /** Notifies at most once per `coalesceMs`, with the state at that moment. */
  schedule(): void {
    if (this.timer || this.listeners.size === 0) {
      return;
    }
    const wait = Math.max(0, this.lastNotified + this.coalesceMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const snapshot = this.snapshot();
      for (const listener of [...this.listeners]) {
        listener(snapshot);
      }
      // Counted from when the listeners are done, so they hear at most once per coalesceMs however long a snapshot takes to build.
      this.lastNotified = Date.now();
    }, wait);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.listeners.clear();
  }
}
