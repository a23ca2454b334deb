/**
 * Start Local Node, Stop Local Node: the editor's local Nex node on demand. Failures (no
 * nats-server, a bad URL in the settings) are thrown and reach the user through the command
 * wrapper as one message, with the detail in the log.
 */
import type { NexExtension } from '../nexExtension';
import { requireTrust } from './functionPick';

/** What Start Local Node returns (tests reach the node with it). */
export interface StartedLocalNode {
  nodeId: string;
  natsUrl: string;
}

/**
 * Starts the local node, or says where the running one is; nothing starts in an untrusted
 * workspace. With no other connection active (none, or one that failed), it connects to the node,
 * so the status bar and the Deployed view show it at once.
 */
export async function startLocalNodeCommand(ext: NexExtension): Promise<StartedLocalNode | undefined> {
  // The node runs functions deployed from this workspace: the same rule as running one.
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const running = ext.localNode.host;
  const host = await ext.localNode.start();
  if (running === host) {
    void ext.ui.info(`The local Nex node ${host.node.nodeId} is already running on ${host.natsUrl}.`);
  }
  if (!ext.connections.connection && ext.connections.state !== 'connecting') {
    try {
      await ext.connections.connect({ kind: 'local' });
    } catch (e) {
      // The node runs: say why the editor is not connected to it, without failing the start.
      void ext.ui.warn(`Nex: the local node runs on ${host.natsUrl}, but the editor did not connect to it: ${(e as Error)?.message ?? String(e)}`);
    }
  }
  return { nodeId: host.node.nodeId, natsUrl: host.natsUrl };
}

/** Stops the local node (or the start under way) and its private nats-server. */
export async function stopLocalNodeCommand(ext: NexExtension): Promise<void> {
  const active = ext.localNode.host !== undefined || ext.localNode.isStarting;
  if (ext.connections.connection?.target.kind === 'local') {
    ext.connections.disconnect();
  }
  await ext.localNode.stop();
  if (!active) {
    void ext.ui.info('The local Nex node is not running.');
  }
}
