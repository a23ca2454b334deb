/**
 * Starts the JavaScript engine (the function worker) ahead of the first run, once the workspace is
 * trusted and has a JavaScript function: shortly after the catalog says so, not while the views that
 * follow the catalog fill (a run before then starts the engine itself).
 */
import { LogOutputChannel, workspace as Workspace } from 'vscode';
import { WorkerExecutor } from '../executor/workerExecutor';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';

/** How long the warm-up waits after the catalog changed. */
const WARM_UP_DELAY_MS = 200;

export class EngineWarmUp extends DisposableObject {
  private warmedUp = false;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly executor: WorkerExecutor,
    private readonly log: LogOutputChannel,
  ) {
    super();
    this.register(catalog.onDidChange(() => this.warmUpSoon()));
    this.register(Workspace.onDidGrantWorkspaceTrust(() => this.warmUpWhenUseful()));
  }

  private warmUpSoon(): void {
    if (!this.warmedUp && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.warmUpWhenUseful();
      }, WARM_UP_DELAY_MS);
    }
  }

  private warmUpWhenUseful(): void {
    if (this.warmedUp || !Workspace.isTrusted || !this.catalog.functions.some((f) => f.manifest?.type === 'v8')) {
      return;
    }
    this.warmedUp = true;
    this.executor.warmUp().catch((e: Error) => this.log.warn(`could not start the JavaScript runtime ahead of time: ${e.message}`));
  }

  override dispose(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    super.dispose();
  }
}
