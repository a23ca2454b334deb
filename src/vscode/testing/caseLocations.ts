/** Where a trigger case and its failure are, as editor locations. */
import { Location, Position, Uri } from 'vscode';
import type { ValidFunction } from '../../core/manifest';
import type { CaseResult } from '../../triggers/caseRunner';
import type { TriggerCase } from '../../triggers/triggerCases';

/** The case's line in its trigger file. */
export function caseLocation(tc: TriggerCase): Location {
  return new Location(Uri.file(tc.file), new Position(tc.line - 1, 0));
}

/** Where in the function's own source a case's run failed, when the engine says. */
export function errorLocation(def: ValidFunction, result: CaseResult): Location | undefined {
  const error = result.run?.outcome.error;
  const source = def.sourcePath ?? result.run?.entryPath;
  if (!error || error.line === undefined || !source || def.manifest.type !== 'v8') {
    return undefined;
  }
  return new Location(Uri.file(source), new Position(error.line - 1, Math.max(0, (error.column ?? 1) - 1)));
}
