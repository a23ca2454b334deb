/** Commands that run trigger cases (all of a function's, one, or one picked) and record new ones. */
import * as fs from 'fs';
import * as path from 'path';
import { applyEdits, modify } from 'jsonc-parser';
import { commands as Commands, Uri, window as Window } from 'vscode';
import { tryDecodeUtf8 } from '../../core/bytes';
import { FunctionDefinition } from '../../core/manifest';
import { formatProblem } from '../../core/problems';
import { formatMs } from '../../run/runReport';
import { CaseResult } from '../../triggers/caseRunner';
import { loadTriggerFiles, TRIGGERS_DIR } from '../../triggers/triggerCases';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';

/** Logs results to the output and sums them up. */
function report(ext: NexExtension, name: string, results: CaseResult[]): void {
  for (const r of results) {
    const label = `${path.basename(r.case.file)} › ${r.case.name}`;
    if (r.status === 'passed') {
      ext.output('info', `  ✔ ${label} (${formatMs(r.durationMs)})`);
    } else {
      ext.output('error', `  ✖ ${label} (${path.basename(r.case.file)}:${r.case.line})`);
      r.failures.forEach((f) => ext.output('error', `      ${f}`));
      if (r.expected !== undefined) {
        ext.output('error', `      expected: ${r.expected}`);
        ext.output('error', `      actual:   ${r.actual}`);
      }
    }
    r.warnings.forEach((w) => ext.output('warn', `      ⚠ ${w}`));
  }
  const failed = results.filter((r) => r.status !== 'passed').length;
  const summary = `${name}: ${results.length - failed} passed, ${failed} failed`;
  ext.output(failed > 0 ? 'error' : 'info', summary);
  if (failed > 0) {
    void ext.ui.error(summary, 'Show Output').then((c) => c && ext.log.show());
  } else {
    ext.showStatusMessage(`$(check) Nex: ${summary}`);
  }
}

export async function runTriggerCasesCommand(ext: NexExtension, arg?: FunctionNode | { function: string; file?: string }): Promise<CaseResult[] | undefined> {
  if (!(await ext.requireTrust())) {
    return undefined;
  }
  const def = arg && 'function' in arg ? ext.catalog.findFor(arg.function) : await ext.functionFor(arg instanceof FunctionNode ? arg : undefined, 'Run the trigger cases of which function?');
  if (!def?.manifest) {
    return undefined;
  }
  const files = loadTriggerFiles(def).filter((f) => !(arg && 'file' in arg && arg.file) || f.file === (arg as { file: string }).file);
  ext.log.show(true);
  files.flatMap((f) => f.problems).forEach((p) => ext.output('error', formatProblem(p)));
  const ids = files.flatMap((f) => f.cases.map((c) => `${f.file}#${c.name}`));
  if (ids.length === 0) {
    void ext.ui.info(`${def.manifest.name} has no trigger cases: add one to ${path.join(path.basename(def.dir), TRIGGERS_DIR, 'basic.json')}.`);
    return [];
  }
  ext.triggerTests.rebuild();
  ext.output('info', `▶ ${def.manifest.name}: ${ids.length} trigger case${ids.length === 1 ? '' : 's'}`);
  const summary = await ext.triggerTests.runCases(ids);
  report(ext, def.manifest.name, summary.results);
  return summary.results;
}

export async function runTriggerCaseCommand(ext: NexExtension, id: string): Promise<CaseResult | undefined> {
  if (!(await ext.requireTrust())) {
    return undefined;
  }
  ext.triggerTests.rebuild();
  const summary = await ext.triggerTests.runCases([id]);
  const result = summary.results[0];
  if (result) {
    report(ext, `${result.case.name}`, [result]);
  }
  return result;
}

/** "▶ Run trigger…" on a function: pick a saved case, or type a subject and payload. */
export async function runTriggerPickCommand(ext: NexExtension, arg: { function: string }): Promise<unknown> {
  const def = ext.catalog.findFor(arg.function);
  if (!def?.manifest) {
    return undefined;
  }
  const cases = loadTriggerFiles(def).flatMap((f) => f.cases);
  const choice = await ext.ui.pick<string>(
    [
      ...cases.map((c) => ({ label: `$(beaker) ${c.name}`, description: c.subject, detail: path.basename(c.file), value: `${c.file}#${c.name}` })),
      { label: '$(edit) Type a subject and a payload…', description: '', value: '' },
    ],
    { title: `Run ${def.manifest.name}`, placeHolder: 'Pick a saved trigger case' },
  );
  if (choice === undefined) {
    return undefined;
  }
  return choice === '' ? Commands.executeCommand('nex.runFunction', Uri.file(def.dir)) : runTriggerCaseCommand(ext, choice);
}

/** "Nex: Save as Trigger Case": the last ad-hoc run becomes a case in triggers/recorded.json. */
export async function saveAsTriggerCaseCommand(ext: NexExtension): Promise<string | undefined> {
  const last = ext.lastResult;
  if (!last) {
    void ext.ui.info('Run a function first (Nex: Run Function…): its subject, payload and reply become the case.');
    return undefined;
  }
  const def: FunctionDefinition | undefined = ext.catalog.findFor(last.entryPath);
  if (!def?.manifest) {
    return undefined;
  }
  const file = path.join(def.dir, TRIGGERS_DIR, 'recorded.json');
  const existing = fs.existsSync(file) ? loadTriggerFiles(def).find((f) => f.file === file) : undefined;
  const taken = new Set(existing?.cases.map((c) => c.name) ?? []);
  const name = await ext.ui.input({
    title: 'Save as Trigger Case: name',
    prompt: `A case in ${path.join(TRIGGERS_DIR, 'recorded.json')} with this run's subject, payload and ${last.outcome.error ? 'error' : 'reply'}`,
    value: `${last.subject} ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`,
    validate: (v) => (v.trim() === '' ? 'give the case a name' : taken.has(v) ? 'another recorded case has this name' : undefined),
  });
  if (name === undefined) {
    return undefined;
  }
  const payloadText = last.payload === undefined ? '' : tryDecodeUtf8(last.payload);
  const caseJson: Record<string, unknown> = {
    name,
    subject: last.subject,
    payload: payloadText !== undefined ? payloadText : { base64: Buffer.from(last.payload!).toString('base64') },
  };
  const o = last.outcome;
  if (o.error) {
    caseJson.expect = { error: o.error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') };
  } else if (o.reply === null) {
    caseJson.expect = { noReply: true };
  } else {
    const text = tryDecodeUtf8(o.reply);
    let reply: unknown = text === undefined ? { base64: Buffer.from(o.reply).toString('base64') } : text;
    if (text !== undefined && /^\s*[[{]/.test(text)) {
      try {
        reply = { json: JSON.parse(text) };
      } catch {
        // keep the text
      }
    }
    caseJson.expect = { reply };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '{\n  "cases": []\n}\n';
  const edits = modify(current, ['cases', -1], caseJson, { isArrayInsertion: true, formattingOptions: { insertSpaces: true, tabSize: 2 } });
  fs.writeFileSync(file, applyEdits(current, edits));
  ext.output('info', `saved trigger case "${name}" in ${file}`);
  await Window.showTextDocument(Uri.file(file), { preview: false });
  ext.triggerTests.rebuild();
  return file;
}
