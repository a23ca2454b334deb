/**
 * CodeLens: "▶ Run" above each case and "▶ Run all" above a trigger file; "▶ Run trigger…" above a
 * JavaScript function; "☁ Deploy" above a manifest.
 */
import * as path from 'path';
import { CodeLens, CodeLensProvider, Event, EventEmitter, Range, TextDocument, Uri } from 'vscode';
import { isValid } from '../core/manifest';
import { functionStartLine } from '../executor/fidelity';
import { caseId, parseTriggerFile, TRIGGERS_DIR } from '../triggers/triggerCases';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';

export class TriggerCodeLensProvider extends DisposableObject implements CodeLensProvider {
  private readonly changed = this.register(new EventEmitter<void>());
  readonly onDidChangeCodeLenses: Event<void> = this.changed.event;

  constructor(private readonly catalog: FunctionCatalog) {
    super();
    this.register(catalog.onDidChange(() => this.changed.fire()));
  }

  provideCodeLenses(doc: TextDocument): CodeLens[] {
    const def = this.catalog.findFor(doc.uri.fsPath);
    if (!isValid(def)) {
      return [];
    }
    const file = doc.uri.fsPath;
    if (path.basename(path.dirname(file)) === TRIGGERS_DIR && path.dirname(path.dirname(file)) === def.dir && file.endsWith('.json')) {
      const parsed = parseTriggerFile(file, doc.getText(), def);
      if (parsed.cases.length === 0) {
        return [];
      }
      const lenses = [new CodeLens(new Range(0, 0, 0, 0), { title: `▶ Run all (${parsed.cases.length})`, command: 'nex.runTriggerCases', arguments: [{ function: def.dir, file }] })];
      for (const tc of parsed.cases) {
        const at = new Range(tc.line - 1, 0, tc.line - 1, 0);
        lenses.push(new CodeLens(at, { title: '▶ Run', tooltip: `Run "${tc.name}"`, command: 'nex.runTriggerCase', arguments: [caseId(tc)] }));
        if (def.manifest.type === 'v8') {
          lenses.push(new CodeLens(at, { title: 'Debug', tooltip: `Debug "${tc.name}" on V8: breakpoints in ${path.basename(def.sourcePath!)} stop it`, command: 'nex.debugTriggerCase', arguments: [caseId(tc)] }));
        }
      }
      return lenses;
    }
    if (file === def.manifestPath) {
      return [new CodeLens(new Range(0, 0, 0, 0), { title: '☁ Deploy', tooltip: `Deploy ${def.manifest.name} to a Nex node (the local node when nothing else is connected)`, command: 'nex.deployFunction', arguments: [{ function: def.dir }] })];
    }
    if (file === def.sourcePath) {
      const line = Math.max(0, (functionStartLine(doc.getText()) ?? 1) - 1);
      const at = new Range(line, 0, line, 0);
      return [
        new CodeLens(at, { title: '▶ Run trigger…', tooltip: 'Run a saved trigger case, or type a subject and a payload', command: 'nex.runTriggerPick', arguments: [{ function: def.dir }] }),
        new CodeLens(at, { title: 'Debug…', tooltip: 'Debug the function on V8 with a subject and a payload: breakpoints in this file stop it', command: 'nex.debugFunction', arguments: [Uri.file(def.dir)] }),
      ];
    }
    return [];
  }
}
