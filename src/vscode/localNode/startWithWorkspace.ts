/**
 * `nex.localNode.startWithWorkspace`: starts the local node when the workspace is trusted, else once
 * trust is granted, and when the setting is turned on; then, with nothing else connected, connects
 * the editor to it (the built-in connection). A failure shows in the status bar and as a message (no
 * command reports it).
 */
import { Disposable, workspace as Workspace } from 'vscode';
import type { Config } from '../config';
import type { UserInterface } from '../ui';
import type { LocalNodeController } from './localNodeController';

export interface StartWithWorkspaceDeps {
  readonly localNode: Pick<LocalNodeController, 'start' | 'host' | 'isStarting' | 'showLog'>;
  readonly config: Config;
  readonly ui: () => UserInterface;
  /** Connects the editor to the local node unless it is connected or connecting elsewhere. */
  readonly connectWhenIdle: () => void;
}

/** Follows the setting and the workspace trust; the first start waits for `after` (the views come first). */
export function startLocalNodeWithWorkspace(deps: StartWithWorkspaceDeps, after: Promise<unknown>): Disposable {
  let disposed = false;
  const startIfWanted = () => {
    const node = deps.localNode;
    if (disposed || !Workspace.isTrusted || !deps.config.localNode.startWithWorkspace || node.host || node.isStarting) {
      return;
    }
    node.start().then(
      () => deps.connectWhenIdle(),
      async (e: Error) => {
        const choice = await deps.ui().error(`Nex: the local node did not start: ${e?.message ?? String(e)}`, 'Show Log');
        if (choice) {
          node.showLog();
        }
      },
    );
  };
  void after.then(startIfWanted, startIfWanted);
  return Disposable.from(
    { dispose: () => (disposed = true) },
    Workspace.onDidGrantWorkspaceTrust(startIfWanted),
    deps.config.onDidChange((e) => {
      if (e.affectsConfiguration('nex.localNode.startWithWorkspace')) {
        startIfWanted();
      }
    }),
  );
}
