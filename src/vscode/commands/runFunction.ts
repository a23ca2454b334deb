/** "Nex: Run Function…": pick a function, ask for a subject and a payload, run it, report. */
import { basename } from 'path';
import { ProgressLocation, Range, Uri, window as Window, workspace as Workspace } from 'vscode';
import { utf8 } from '../../core/bytes';
import { entryPath, FunctionDefinition } from '../../core/manifest';
import { concreteSubjectProblem } from '../../core/subject';
import { formatMs } from '../../run/runReport';
import { FunctionRunResult, runFunctionOnce } from '../../run/functionRun';
import type { NexExtension } from '../nexExtension';
import { runLimitsFromSettings } from '../settings';
import { FunctionNode } from '../views/functionsView';

/** Arguments for scripted use (keybindings, tests): anything missing is asked for. */
export interface RunFunctionArgs {
  function?: string;
  subject?: string;
  payload?: string;
}

/** Runs shorter than this show no progress notification. */
const PROGRESS_DELAY_MS = 400;

interface LastInput {
  subject: string;
  payload: string;
}

export async function runFunctionCommand(ext: NexExtension, arg?: FunctionNode | Uri | RunFunctionArgs): Promise<FunctionRunResult | undefined> {
  const { ui } = ext;
  if (!(await ext.requireTrust())) {
    return undefined;
  }
  const scripted: RunFunctionArgs = arg && !(arg instanceof FunctionNode) && !(arg instanceof Uri) ? arg : {};
  const def = await chooseFunction(ext, arg, scripted);
  if (!def) {
    return undefined;
  }
  if (def.problems.length > 0) {
    const first = def.problems[0];
    const choice = await ui.error(`${def.manifest?.name ?? basename(def.dir)} cannot run: ${first.field ? `"${first.field}" ` : ''}${first.message}`, 'Open Manifest');
    if (choice) {
      await openAt(first.file, first.line);
    }
    return undefined;
  }
  const name = def.manifest!.name;
  const memoKey = `nex.lastInput:${def.dir}`;
  const last = ext.context.workspaceState.get<LastInput>(memoKey);
  const subject =
    scripted.subject ??
    (await ui.input({
      title: `Run ${name} (1/2): trigger subject`,
      prompt: 'The concrete NATS subject that triggers the function (its first argument)',
      value: last?.subject ?? name,
      validate: concreteSubjectProblem,
    }));
  if (subject === undefined) {
    return undefined;
  }
  const payload =
    scripted.payload ??
    (await ui.input({
      title: `Run ${name} (2/2): payload`,
      prompt: 'The message payload as text (the function gets its UTF-8 bytes); leave empty for none',
      value: last?.payload ?? '',
    }));
  if (payload === undefined) {
    return undefined;
  }
  await ext.context.workspaceState.update(memoKey, { subject, payload } satisfies LastInput);

  ext.clearStatusMessage();
  const result = await runShowingProgress(ext, def, subject, payload);
  ext.reportRun(result);
  const log = ext.log;
  log.show(true);
  const error = result.outcome.error;
  if (error && error.kind !== 'cancelled') {
    const actions = error.line !== undefined && def.sourcePath ? ['Go to Error', 'Show Output'] : ['Show Output'];
    const where = error.line !== undefined ? ` (line ${error.line})` : '';
    void ui.error(`${name}: ${error.message}${where}`, ...actions).then(async (choice) => {
      if (choice === 'Go to Error') {
        await openAt(def.sourcePath!, error.line, error.column);
      } else if (choice === 'Show Output') {
        log.show();
      }
    });
  } else if (!error) {
    const reply = result.outcome.reply;
    ext.showStatusMessage(`$(check) Nex: ${name} ${reply === null ? 'sent no reply' : `replied ${reply.length} bytes`} in ${formatMs(result.outcome.durationMs)}`);
  }
  return result;
}

/** Runs without ceremony; a run that takes a while gets a notification with a Cancel button. */
async function runShowingProgress(ext: NexExtension, def: FunctionDefinition, subject: string, payload: string): Promise<FunctionRunResult> {
  const abort = new AbortController();
  const hostServices = def.manifest!.type === 'v8' ? ext.mocks.for(def) : undefined;
  const running = (async () => {
    await ext.buildIfNeeded(def, abort.signal);
    return runFunctionOnce(ext.runner, def, { subject, payload: utf8(payload), limits: runLimitsFromSettings(), hostServices }, { signal: abort.signal });
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = await Promise.race([running.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), PROGRESS_DELAY_MS)))]);
  clearTimeout(timer);
  if (slow) {
    await Window.withProgress({ location: ProgressLocation.Notification, title: `Running ${def.manifest!.name}…`, cancellable: true }, (_progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      return running.catch(() => undefined);
    });
  }
  return running;
}

async function chooseFunction(ext: NexExtension, arg: FunctionNode | Uri | RunFunctionArgs | undefined, scripted: RunFunctionArgs): Promise<FunctionDefinition | undefined> {
  const catalog = ext.catalog;
  if (!catalog.loaded) {
    await catalog.refresh();
  }
  if (arg instanceof FunctionNode) {
    return arg.definition;
  }
  const path = arg instanceof Uri ? arg.fsPath : scripted.function;
  if (path) {
    const found = catalog.findFor(path);
    if (!found) {
      await ext.ui.error(`${path} is not part of a Nex function: no nexfunction.json in its folder.`);
    }
    return found;
  }
  const functions = catalog.functions;
  if (functions.length === 0) {
    await ext.ui.info('There are no Nex functions in this workspace: a function is a folder holding a nexfunction.json and its source.');
    return undefined;
  }
  const active = Window.activeTextEditor?.document.uri;
  const current = active?.scheme === 'file' ? catalog.findFor(active.fsPath) : undefined;
  const ordered = current ? [current, ...functions.filter((f) => f !== current)] : [...functions];
  return ext.ui.pick(
    ordered.map((f) => ({
      label: `$(${f.problems.length > 0 ? 'error' : 'symbol-function'}) ${f.manifest?.name ?? f.dir}`,
      description: f.problems.length > 0 ? 'invalid manifest' : `${f.manifest!.type === 'v8' ? 'JavaScript' : 'WebAssembly'} · ${Workspace.asRelativePath(entryPath(f)!)}`,
      detail: f === current ? 'the function of the active editor' : undefined,
      value: f,
    })),
    { title: 'Run Nex Function', placeHolder: 'Pick the function to run' },
  );
}

async function openAt(file: string, line?: number, column?: number): Promise<void> {
  const doc = await Workspace.openTextDocument(Uri.file(file));
  const l = Math.max(0, (line ?? 1) - 1);
  const c = Math.max(0, (column ?? 1) - 1);
  await Window.showTextDocument(doc, { selection: new Range(l, c, l, c) });
}
