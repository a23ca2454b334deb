/** "Nex: Run Trigger Cases": runs a function's saved cases and reports them in the output. */
import * as path from 'path';
import { commands as Commands, workspace as Workspace } from 'vscode';
import { formatProblem } from '../../core/problems';
import { formatMs } from '../../executor/formatRun';
import { CaseResult, runTriggerCase } from '../../triggers/caseRunner';
import { loadTriggerFiles } from '../../triggers/triggerCases';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';

export async function runTriggerCasesCommand(ext: NexExtension, arg?: FunctionNode | { function: string }): Promise<CaseResult[] | undefined> {
  if (!Workspace.isTrusted) {
    const choice = await ext.ui.warn('Nex functions run only in a trusted workspace: running one executes code from this workspace.', 'Manage Workspace Trust');
    if (choice) {
      await Commands.executeCommand('workbench.trust.manage');
    }
    return undefined;
  }
  const def = arg && 'function' in arg ? ext.catalog.findFor(arg.function) : await ext.functionFor(arg instanceof FunctionNode ? arg : undefined, 'Run the trigger cases of which function?');
  if (!def?.manifest) {
    return undefined;
  }
  const files = loadTriggerFiles(def);
  const cases = files.flatMap((f) => f.cases);
  const log = ext.log;
  const out = (level: 'info' | 'warn' | 'error', text: string) => ext.output(level, text);
  log.show(true);
  for (const p of files.flatMap((f) => f.problems)) {
    out('error', formatProblem(p));
  }
  if (cases.length === 0) {
    void ext.ui.info(`${def.manifest.name} has no trigger cases: add one to ${path.join(path.basename(def.dir), 'triggers', 'basic.json')}.`);
    return [];
  }
  await ext.buildIfNeeded(def);
  out('info', `▶ ${def.manifest.name}: ${cases.length} trigger case${cases.length === 1 ? '' : 's'}`);
  const results: CaseResult[] = [];
  for (const tc of cases) {
    const r = await runTriggerCase(ext.runner, def, tc);
    results.push(r);
    const label = `${path.basename(tc.file)} › ${tc.name}`;
    if (r.status === 'passed') {
      out('info', `  ✔ ${label} (${formatMs(r.durationMs)})`);
    } else {
      out('error', `  ✖ ${label} (${path.basename(tc.file)}:${tc.line})`);
      r.failures.forEach((f) => out('error', `      ${f}`));
      if (r.expected !== undefined) {
        out('error', `      expected: ${r.expected}`);
        out('error', `      actual:   ${r.actual}`);
      }
    }
    r.warnings.forEach((w) => out('warn', `      ⚠ ${w}`));
  }
  const failed = results.filter((r) => r.status !== 'passed').length;
  const summary = `${def.manifest.name}: ${results.length - failed} passed, ${failed} failed`;
  out('info', summary);
  if (failed > 0) {
    void ext.ui.error(summary, 'Show Output').then((c) => c && log.show());
  } else {
    ext.showStatusMessage(`$(check) Nex: ${summary}`);
  }
  return results;
}
