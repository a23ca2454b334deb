/** Keeps the trigger case model current: the catalog's functions as they change, the trigger files as they change on disk. */
import { Disposable, workspace as Workspace } from 'vscode';
import type { TriggerCaseModel } from '../../triggers/caseModel';
import { TRIGGERS_DIR } from '../../triggers/triggerCases';
import type { FunctionCatalog } from '../functionCatalog';

export function feedCases(cases: TriggerCaseModel, catalog: FunctionCatalog): Disposable {
  const watcher = Workspace.createFileSystemWatcher(`**/${TRIGGERS_DIR}/*.json`);
  // A file that changed is read once: a sync that finds it unchanged since (a save ran one) reads nothing.
  const sync = () => cases.sync();
  cases.setFunctions(catalog.functions);
  return Disposable.from(watcher, watcher.onDidCreate(sync), watcher.onDidChange(sync), watcher.onDidDelete(sync), catalog.onDidChange(() => cases.setFunctions(catalog.functions)));
}
