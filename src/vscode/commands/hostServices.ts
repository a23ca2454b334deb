/** Commands on a function's local host services: show the panel, reset the mocks, save them to the mocks file. */
import { workspace as Workspace } from 'vscode';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';
import { pickFunction } from './functionPick';

export async function showHostServicesCommand(ext: NexExtension, arg?: FunctionNode | { function: string }): Promise<unknown> {
  const fn = await pickFunction(ext, arg, 'Show the host services of which function?');
  if (!fn) {
    return undefined;
  }
  if (fn.manifest.type !== 'v8') {
    void ext.ui.info(`${fn.manifest.name} is a WebAssembly function: no released Nex version gives WebAssembly functions host services.`);
    return undefined;
  }
  return ext.panels.open(fn);
}

export async function resetMocksCommand(ext: NexExtension, arg?: FunctionNode): Promise<void> {
  const fn = await pickFunction(ext, arg, 'Reset the host-service mocks of which function?');
  if (fn) {
    ext.mocks.reset(fn);
    ext.reporter.output('info', `host-service mocks of ${fn.manifest.name} reset${fn.manifest.mocks ? ` to ${fn.manifest.mocks}` : ' (empty)'}`);
    void ext.ui.info(`The next run of ${fn.manifest.name} starts from ${fn.manifest.mocks ?? 'empty host services'}.`);
  }
}

export async function saveMocksCommand(ext: NexExtension, arg?: FunctionNode): Promise<void> {
  const fn = await pickFunction(ext, arg, 'Save the host-service state of which function?');
  if (fn) {
    const file = ext.mocks.save(fn);
    ext.reporter.output('info', `host-service state of ${fn.manifest.name} saved to ${file}`);
    void ext.ui.info(`Saved the host-service state of ${fn.manifest.name} to ${Workspace.asRelativePath(file)}.`);
  }
}
