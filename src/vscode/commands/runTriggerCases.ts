/** Commands that run trigger cases (all of a function's, one, or one picked) and record new ones. */
import * as path from 'path';
import { commands as Commands, Uri } from 'vscode';
import { plural } from '../../core/bytes';
import { formatProblem } from '../../core/problems';
import { CaseResult } from '../../triggers/caseRunner';
import { caseId, TRIGGERS_DIR } from '../../triggers/triggerCases';
import type { NexExtension } from '../nexExtension';
import { openAt } from '../runReporter';
import type { TestRunOptions } from '../testing/triggerTests';
import { FunctionNode } from '../views/functionsView';
import { pickFunction, requireTrust } from './functionPick';

export async function runTriggerCasesCommand(ext: NexExtension, arg?: FunctionNode | { function: string; file?: string }): Promise<CaseResult[] | undefined> {
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const fn = await pickFunction(ext, arg, 'Run the trigger cases of which function?');
  if (!fn) {
    return undefined;
  }
  const onlyFile = arg && !(arg instanceof FunctionNode) ? arg.file : undefined;
  const files = ext.cases.filesOf(fn).filter((f) => !onlyFile || f.file === onlyFile);
  ext.log.show(true);
  const problems = files.flatMap((f) => f.problems);
  problems.forEach((p) => ext.reporter.output('error', formatProblem(p)));
  const ids = files.flatMap((f) => f.cases.map((c) => caseId(c)));
  if (problems.length > 0) {
    // A broken trigger file is reported as such, never as "no cases" or an empty pass.
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${plural(problems.length - 1, 'more problem')})` : '';
    void ext.ui
      .error(`${path.basename(first.file)}${first.line ? `:${first.line}` : ''}: ${first.field ? `"${first.field}": ` : ''}${first.message}${more}${ids.length > 0 ? '; its other cases run' : ''}`, 'Open File')
      .then((choice) => (choice ? openAt(first.file, first.line, first.column) : undefined));
  }
  if (ids.length === 0) {
    if (problems.length > 0) {
      return [];
    }
    void ext.ui.info(`${fn.manifest.name} has no trigger cases: add one to ${path.join(path.basename(fn.dir), TRIGGERS_DIR, 'basic.json')}.`);
    return [];
  }
  ext.reporter.output('info', `▶ ${fn.manifest.name}: ${plural(ids.length, 'trigger case')}`);
  const summary = await ext.triggerTests.runCases(ids);
  ext.reporter.reportCases(fn.manifest.name, summary.results);
  return summary.results;
}

export async function runTriggerCaseCommand(ext: NexExtension, id: string, options: TestRunOptions = {}): Promise<CaseResult | undefined> {
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const summary = await ext.triggerTests.runCases([id], undefined, options);
  const result = summary.results[0];
  if (result) {
    ext.reporter.reportCases(result.case.name, [result]);
  }
  return result;
}

/** "▶ Run trigger…" on a function: pick a saved case, or type a subject and payload. */
export async function runTriggerPickCommand(ext: NexExtension, arg: { function: string }): Promise<unknown> {
  const def = await pickFunction(ext, arg, 'Run a trigger of which function?');
  if (!def) {
    return undefined;
  }
  const cases = ext.cases.filesOf(def).flatMap((f) => f.cases);
  const choice = await ext.ui.pick<string>(
    [
      ...cases.map((c) => ({ label: `$(beaker) ${c.name}`, description: c.subject, detail: path.basename(c.file), value: caseId(c) })),
      { label: '$(edit) Type a subject and a payload…', description: '', value: '' },
    ],
    { title: `Run ${def.manifest.name}`, placeHolder: 'Pick a saved trigger case' },
  );
  if (choice === undefined) {
    return undefined;
  }
  return choice === '' ? Commands.executeCommand('nex.runFunction', Uri.file(def.dir)) : runTriggerCaseCommand(ext, choice);
}

/** "Nex: Save as Trigger Case": the last run (by hand or on a node) becomes a case in triggers/recorded.json. */
export function saveAsTriggerCaseCommand(ext: NexExtension): Promise<string | undefined> {
  return ext.runs.saveAsCase(ext.runs.lastRun);
}
