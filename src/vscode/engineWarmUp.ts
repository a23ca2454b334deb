/** Starts the JavaScript engine (the function worker) ahead of the first run, once the workspace is trusted and has a JavaScript function. */
import { LogOutputChannel, workspace as Workspace } from 'vscode';
import { FunctionRunner } from '../executor/functionRunner';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';

export class EngineWarmUp extends DisposableObject {
  private warmedUp = false;

  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly runner: FunctionRunner,
    private readonly log: LogOutputChannel,
  ) {
    super();
    this.register(catalog.onDidChange(() => this.warmUpWhenUseful()));
    this.register(Workspace.onDidGrantWorkspaceTrust(() => this.warmUpWhenUseful()));
  }

  private warmUpWhenUseful(): void {
    if (this.warmedUp || !Workspace.isTrusted || !this.catalog.functions.some((f) => f.manifest?.type === 'v8')) {
      return;
    }
    this.warmedUp = true;
    this.runner.warmUp().catch((e: Error) => this.log.warn(`could not start the JavaScript runtime ahead of time: ${e.message}`));
  }
}
