/** What most commands ask first: is the workspace trusted, and which function is meant. */
import { commands as Commands, window as Window, workspace as Workspace } from 'vscode';
import { isValid, ValidFunction } from '../../core/manifest';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';

/** True in a trusted workspace; otherwise explains why nothing runs and offers to manage trust. */
export async function requireTrust(ext: NexExtension): Promise<boolean> {
  if (Workspace.isTrusted) {
    return true;
  }
  const choice = await ext.ui.warn('Nex functions run only in a trusted workspace: running one executes code from this workspace.', 'Manage Workspace Trust');
  if (choice) {
    await Commands.executeCommand('workbench.trust.manage');
  }
  return false;
}

/**
 * The valid function a command applies to: a tree node or `{ function: path }` argument, else the
 * active editor's function, else one the user picks.
 */
export async function pickFunction(ext: NexExtension, arg: FunctionNode | { function: string } | undefined, title: string): Promise<ValidFunction | undefined> {
  if (arg instanceof FunctionNode) {
    return isValid(arg.definition) ? arg.definition : undefined;
  }
  if (!ext.catalog.loaded) {
    await ext.catalog.refresh();
  }
  if (arg && typeof arg.function === 'string') {
    const def = ext.catalog.findFor(arg.function);
    return isValid(def) ? def : undefined;
  }
  const valid = ext.catalog.functions.filter(isValid);
  const active = Window.activeTextEditor?.document.uri;
  const current = active?.scheme === 'file' ? ext.catalog.findFor(active.fsPath) : undefined;
  if (isValid(current)) {
    return current;
  }
  if (valid.length === 0) {
    void ext.ui.info('There are no valid Nex functions in this workspace.');
    return undefined;
  }
  return ext.ui.pick(
    valid.map((f) => ({ label: f.manifest.name, description: f.manifest.mocks ?? 'no mocks file', value: f })),
    { title },
  );
}
