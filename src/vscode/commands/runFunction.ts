/**
 * "Nex: Run Function…" (the function's invoke panel; the quick input for a bare file, an invalid
 * function or scripted arguments) and "Nex: Quick Run Function…" (the function, the subject and
 * the payload asked in the quick input, the reply in the output).
 */
import { basename } from 'path';
import { Uri } from 'vscode';
import { utf8 } from '../../core/bytes';
import { COMPAT_PROFILES, CompatProfile, describeProfile } from '../../core/compat';
import { isValid, ValidFunction } from '../../core/manifest';
import { concreteSubjectProblem } from '../../core/subject';
import type { FunctionRunResult } from '../../run/functionRun';
import { bareFileType, bareFunction } from '../../run/resolveFunction';
import type { NexExtension } from '../nexExtension';
import { openAt } from '../runReporter';
import { FunctionNode } from '../views/functionsView';
import { chooseFunction, FunctionTarget, requireTrust } from './functionPick';

/** Arguments for scripted use (keybindings, tests): anything missing is asked for. */
export interface RunFunctionArgs {
  function?: string;
  subject?: string;
  payload?: string;
  /** The profile of a bare file (no manifest), instead of asking. */
  compat?: CompatProfile;
}

/** What a run by hand needs: the function, and the subject and payload the user gave. */
export interface RunInput {
  fn: ValidFunction;
  subject: string;
  payload: string;
}

/**
 * "Nex: Run Function…" and ▶ in the Functions view: the invoke panel of the function (the place to
 * run it by hand). Scripted arguments with a subject (keybindings, tests), a bare file and an
 * invalid function take the quick-input way instead.
 */
export async function runFunctionCommand(ext: NexExtension, arg?: FunctionNode | Uri | RunFunctionArgs): Promise<FunctionRunResult | undefined> {
  const scripted: RunFunctionArgs = arg && !(arg instanceof FunctionNode) && !(arg instanceof Uri) ? arg : {};
  if (scripted.subject !== undefined) {
    return quickRunFunctionCommand(ext, arg);
  }
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const target = await chooseTarget(ext, arg, 'Run');
  if (!target) {
    return undefined;
  }
  if ('def' in target && isValid(target.def)) {
    ext.invoke.open(target.def);
    return undefined;
  }
  return quickRunFunctionCommand(ext, { ...scripted, function: 'bareFile' in target ? target.bareFile : target.def.dir });
}

/** "Nex: Quick Run Function…": the subject and the payload asked in the quick input, the reply in the output. */
export async function quickRunFunctionCommand(ext: NexExtension, arg?: FunctionNode | Uri | RunFunctionArgs): Promise<FunctionRunResult | undefined> {
  const input = await askRunInput(ext, arg, 'Run');
  if (!input) {
    return undefined;
  }
  return ext.runs.run(input.fn, input.subject, utf8(input.payload), 'quick');
}

/**
 * Asks for what a run by hand needs (the function unless given, then the subject and the payload,
 * remembered per function). Undefined when the user cancels or the function cannot run; `accept`
 * may refuse a function (e.g. Debug, for WebAssembly) after saying why.
 */
export async function askRunInput(
  ext: NexExtension,
  arg: FunctionNode | Uri | RunFunctionArgs | undefined,
  verb: 'Run' | 'Debug',
  accept: (fn: ValidFunction) => Promise<boolean> = async () => true,
): Promise<RunInput | undefined> {
  const { ui } = ext;
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const scripted: RunFunctionArgs = arg && !(arg instanceof FunctionNode) && !(arg instanceof Uri) ? arg : {};
  const target = await chooseTarget(ext, arg, verb);
  if (!target) {
    return undefined;
  }
  let fn: ValidFunction;
  if ('bareFile' in target) {
    const compat = scripted.compat ?? (await bareProfile(ext, target.bareFile));
    if (!compat) {
      return undefined;
    }
    const bare = bareFunction(target.bareFile, compat);
    ext.reporter.output('info', bare.notice!);
    fn = bare.fn;
  } else if (!isValid(target.def)) {
    const def = target.def;
    const first = def.problems[0] ?? { file: def.manifestPath, message: 'the manifest is not valid' };
    const choice = await ui.error(`${def.manifest?.name ?? basename(def.dir)} cannot run: ${first.field ? `"${first.field}" ` : ''}${first.message}`, 'Open Manifest');
    if (choice) {
      await openAt(first.file, first.line);
    }
    return undefined;
  } else {
    fn = target.def;
  }
  if (!(await accept(fn))) {
    return undefined;
  }
  const name = fn.manifest.name;
  const last = ext.runs.lastInput(fn);
  const subject =
    scripted.subject ??
    (await ui.input({
      title: `${verb} ${name} (1/2): trigger subject`,
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
      title: `${verb} ${name} (2/2): payload`,
      prompt: 'The message payload as text (the function gets its UTF-8 bytes); leave empty for none',
      value: last?.payload.kind === 'text' ? last.payload.text : '',
    }));
  if (payload === undefined) {
    return undefined;
  }
  // The panels' Run again replays what ran last, from here too.
  await ext.runs.rememberInput(fn, { subject, payload: { kind: 'text', text: payload } });
  return { fn, subject, payload };
}

/** The profile a bare JavaScript file runs under: asked once per file, then remembered. */
async function bareProfile(ext: NexExtension, file: string): Promise<CompatProfile | undefined> {
  if (bareFileType(file) === 'wasm') {
    return 'docs';
  }
  const key = `nex.bareProfile:${file}`;
  const known = ext.context.workspaceState.get<CompatProfile>(key);
  if (known) {
    return known;
  }
  const picked = await ext.ui.pick(
    COMPAT_PROFILES.map((p) => ({ label: p, description: describeProfile(p), value: p })),
    { title: `Run ${basename(file)}: it has no nexfunction.json`, placeHolder: 'Which Nex behaviour should it run with? (asked once for this file)' },
  );
  if (picked) {
    await ext.context.workspaceState.update(key, picked);
  }
  return picked;
}

/** The function (or bare file) to run or debug: the picker of every command, offering the active editor's first. */
function chooseTarget(ext: NexExtension, arg: FunctionNode | Uri | RunFunctionArgs | undefined, verb: 'Run' | 'Debug'): Promise<FunctionTarget | undefined> {
  return chooseFunction(ext, arg, { title: `${verb} Nex Function`, placeHolder: `Pick the function to ${verb.toLowerCase()}`, forRun: true });
}
