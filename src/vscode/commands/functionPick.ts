/** What most commands ask first: is the workspace trusted, and which function is meant (one picker for all). */
import { basename } from 'path';
import { commands as Commands, Uri, window as Window, workspace as Workspace } from 'vscode';
import { entryPath, FunctionDefinition, isValid, ValidFunction } from '../../core/manifest';
import { bareFileType } from '../../run/resolveFunction';
import type { NexExtension } from '../nexExtension';
import type { PickItem } from '../ui';
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

/** What a command applies to: a function of the workspace, or (Run, Debug) a bare .js or .wasm file. */
export type FunctionTarget = { def: FunctionDefinition } | { bareFile: string };

/** How the picker asks. */
export interface PickOptions {
  title: string;
  placeHolder?: string;
  /**
   * Run and Debug: a bare file and an invalid function (the caller says why it cannot run) can be
   * chosen too, and the active editor's function is offered first instead of taken without asking.
   */
  forRun?: boolean;
}

/**
 * The function a command applies to: a tree node, a URI or `{ function: path }` (a file or folder
 * of it), else the active editor's function, else one the user picks.
 */
export async function chooseFunction(ext: NexExtension, arg: FunctionNode | Uri | { function?: string } | undefined, options: PickOptions): Promise<FunctionTarget | undefined> {
  const { catalog, ui } = ext;
  if (arg instanceof FunctionNode) {
    return { def: arg.definition };
  }
  if (!catalog.loaded) {
    await catalog.refresh();
  }
  const path = arg instanceof Uri ? arg.fsPath : arg?.function;
  if (path) {
    const found = catalog.findFor(path);
    if (found || !options.forRun) {
      return found && { def: found };
    }
    if (bareFileType(path)) {
      return { bareFile: path };
    }
    await ui.error(`${path} is not part of a Nex function: no nexfunction.json in its folder (a bare .js or .wasm file runs without one).`);
    return undefined;
  }
  const active = Window.activeTextEditor?.document.uri;
  const current = active?.scheme === 'file' ? catalog.findFor(active.fsPath) : undefined;
  if (!options.forRun && isValid(current)) {
    return { def: current };
  }
  const bareActive = options.forRun && active?.scheme === 'file' && !current && bareFileType(active.fsPath) ? active.fsPath : undefined;
  const functions = options.forRun ? catalog.functions : catalog.functions.filter(isValid);
  if (functions.length === 0) {
    if (bareActive) {
      return { bareFile: bareActive };
    }
    await ui.info(
      options.forRun
        ? 'There are no Nex functions in this workspace: a function is a folder holding a nexfunction.json and its source (or open a .js file to run it bare).'
        : 'There are no valid Nex functions in this workspace.',
    );
    return undefined;
  }
  const ordered = current && functions.includes(current) ? [current, ...functions.filter((f) => f !== current)] : [...functions];
  const items: Array<PickItem<FunctionTarget>> = ordered.map((f) => ({
    label: `$(${f.problems.length > 0 ? 'error' : 'symbol-function'}) ${f.manifest?.name ?? f.dir}`,
    description: !isValid(f) ? 'invalid manifest' : `${f.manifest.type === 'v8' ? 'JavaScript' : 'WebAssembly'} · ${Workspace.asRelativePath(entryPath(f))}`,
    detail: f === current ? 'the function of the active editor' : undefined,
    value: { def: f },
  }));
  if (bareActive) {
    items.unshift({ label: `$(file-code) ${basename(bareActive)}`, description: `no nexfunction.json: runs as a bare file · ${Workspace.asRelativePath(bareActive)}`, detail: 'the active editor', value: { bareFile: bareActive } });
  }
  return ui.pick(items, { title: options.title, placeHolder: options.placeHolder });
}

/** The valid function a command applies to (see chooseFunction); undefined when there is none or it is not valid. */
export async function pickFunction(ext: NexExtension, arg: FunctionNode | { function: string } | undefined, title: string): Promise<ValidFunction | undefined> {
  const target = await chooseFunction(ext, arg, { title });
  return target && 'def' in target && isValid(target.def) ? target.def : undefined;
}
