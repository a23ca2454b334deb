/**
 * When the local node stops (Stop Local Node, a restart for new settings), its workloads are gone,
 * as on a real node. This says so once, with what was lost (also in the node's log), and offers to
 * deploy again the ones that are workspace functions: "Redeploy 2 functions" starts the node when it
 * is not running, waits for the connection, and deploys each with Deploy Function.
 */
import { plural } from '../../core/bytes';
import { isValid, type FunctionDefinition } from '../../core/manifest';
import { LostWorkloads, lostWorkloads } from '../../explorer/lostWorkloads';
import { DisposableObject } from '../lifecycle';
import type { UserInterface } from '../ui';
import type { LocalNodeController, LocalNodeStopped } from './localNodeController';

/** How long a redeploy waits for the editor's connection to come up after the node started. */
const CONNECTION_WAIT_MS = 15000;

/** What a redeploy did: the names deployed again, and the ones that were not, with why. */
export interface RedeployOutcome {
  deployed: string[];
  failed: Array<{ name: string; reason: string }>;
}

/** What the notice needs: the node, the workspace's functions, the editor's connection, a deploy (Deploy Function's), the UI port. */
export interface LostWorkloadsNoticeDeps {
  readonly localNode: Pick<LocalNodeController, 'onDidStop' | 'start' | 'log'>;
  readonly functions: () => readonly FunctionDefinition[];
  readonly connections: {
    readonly state: string;
    readonly connection: unknown;
    connect(target: { kind: 'local' }): Promise<unknown>;
  };
  /** Deploys the workspace function in `function` (its folder) to the node `nodeId`; undefined when it was not deployed (the user was told why). */
  readonly deploy: (request: { function: string; nodeId: string }) => Promise<unknown>;
  readonly ui: () => UserInterface;
}

export class LostWorkloadsNotice extends DisposableObject {
  constructor(private readonly deps: LostWorkloadsNoticeDeps) {
    super();
    this.register(deps.localNode.onDidStop((stopped) => void this.notify(stopped)));
  }

  private async notify(stopped: LocalNodeStopped): Promise<RedeployOutcome | undefined> {
    const lost = lostWorkloads({ id: stopped.nodeId, name: stopped.nodeName, workloads: stopped.workloads }, this.deps.functions().filter(isValid), stopped.reason);
    if (!lost) {
      return undefined;
    }
    this.deps.localNode.log.warn(lost.logLine);
    const choice = await this.deps.ui().info(lost.message, ...(lost.redeployLabel ? [lost.redeployLabel] : []));
    if (!lost.redeployLabel || choice !== lost.redeployLabel) {
      return undefined;
    }
    return this.redeploy(lost);
  }

  /** Starts the node (when it is not running), waits for the connection, deploys each function again, and says how that went. */
  async redeploy(lost: LostWorkloads): Promise<RedeployOutcome> {
    const names = lost.redeployable.map((r) => r.fn.manifest.name);
    const log = this.deps.localNode.log;
    let nodeId: string;
    try {
      nodeId = (await this.deps.localNode.start()).node.nodeId;
      await this.connectionUp();
    } catch (e) {
      const reason = (e as Error)?.message ?? String(e);
      log.error(`redeploy of ${names.join(', ')}: ${reason}`);
      void this.deps.ui().error(`Nex: could not redeploy ${names.join(', ')}: ${reason}`);
      return { deployed: [], failed: names.map((name) => ({ name, reason })) };
    }
    const outcome: RedeployOutcome = { deployed: [], failed: [] };
    for (const { fn } of lost.redeployable) {
      const name = fn.manifest.name;
      try {
        // To the local node by its id (kept across restarts), whatever else the connection reaches.
        const result = await this.deps.deploy({ function: fn.dir, nodeId });
        if (result) {
          outcome.deployed.push(name);
        } else {
          outcome.failed.push({ name, reason: 'not deployed (see its message)' });
        }
      } catch (e) {
        outcome.failed.push({ name, reason: (e as Error)?.message ?? String(e) });
      }
    }
    if (outcome.failed.length === 0) {
      log.info(`redeployed ${outcome.deployed.join(', ')}`);
      void this.deps.ui().info(`Redeployed ${plural(outcome.deployed.length, 'function')} (${outcome.deployed.join(', ')}) on the local node.`);
    } else {
      const failures = outcome.failed.map((f) => `${f.name}: ${f.reason}`).join('; ');
      log.warn(`redeployed ${outcome.deployed.length} of ${names.length}; failed: ${failures}`);
      void this.deps.ui().warn(`Nex: Redeployed ${outcome.deployed.length} of ${plural(names.length, 'function')}; not redeployed: ${failures}`);
    }
    return outcome;
  }

  /**
   * The editor's connection is up: with none, to the local node (as a deploy would connect); while it
   * connects or reconnects (the node's nats-server came back on the same port), until it is connected.
   */
  private async connectionUp(): Promise<void> {
    const connections = this.deps.connections;
    const deadline = Date.now() + CONNECTION_WAIT_MS;
    while (!(connections.state === 'connected' && connections.connection)) {
      if (connections.state === 'disconnected' || connections.state === 'offline') {
        await connections.connect({ kind: 'local' });
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`the connection is still ${connections.state} after ${CONNECTION_WAIT_MS / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
