/**
 * On save of a JavaScript function's source: diagnostics for what a node would refuse (module
 * syntax, syntax errors, no function at the end, too large). The check evaluates the script's top
 * level in the function worker, so it runs only in a trusted workspace.
 */
import { languages as Languages, TextDocument, workspace as Workspace } from 'vscode';
import { isValid } from '../core/manifest';
import { WorkerExecutor } from '../executor/workerExecutor';
import { checkJsSource, SourceProblem } from '../executor/sourceCheck';
import { diagnostic } from './diagnostics';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';

export class SourceChecks extends DisposableObject {
  private readonly diagnostics = this.register(Languages.createDiagnosticCollection('nex-check'));

  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly executor: WorkerExecutor,
  ) {
    super();
    this.register(Workspace.onDidSaveTextDocument((doc) => void this.check(doc)));
  }

  async check(doc: TextDocument): Promise<SourceProblem[] | undefined> {
    if (!Workspace.isTrusted || doc.uri.scheme !== 'file') {
      return undefined;
    }
    const def = this.catalog.findFor(doc.uri.fsPath);
    if (!isValid(def) || def.sourcePath !== doc.uri.fsPath) {
      return undefined;
    }
    const problems = await checkJsSource(this.executor, doc.getText(), doc.uri.fsPath, def.manifest.compat);
    this.diagnostics.set(
      doc.uri,
      problems.map((p) => diagnostic({ ...p, source: 'nex', toLineEnd: true })),
    );
    return problems;
  }
}
