/**
 * "Nex: Debug Function…", "Debug" on a trigger case (CodeLens), and `nex` launch configurations
 * (F5): a JavaScript function runs on V8 under VS Code's JavaScript debugger (debug/debugSessionExecutor),
 * with the host services of the host-services panel, then reports as a run does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CancellationToken, DebugConfiguration, DebugConfigurationProvider, ProviderResult, Uri, window as Window, WorkspaceFolder } from 'vscode';
import { utf8 } from '../../core/bytes';
import { FunctionDefinition, isValid, ValidFunction } from '../../core/manifest';
import type { FunctionRunResult } from '../../run/functionRun';
import { CaseResult } from '../../triggers/caseRunner';
import { caseId } from '../../triggers/triggerCases';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';
import { requireTrust } from './functionPick';
import { askRunInput, RunFunctionArgs, runFunctionCommand } from './runFunction';
import { runTriggerCaseCommand } from './runTriggerCases';

/** A `nex` launch configuration, as launch.json holds it. */
export interface NexLaunchConfiguration extends DebugConfiguration {
  /** The function: its folder (relative to the workspace folder, or absolute) or its name. */
  function?: string;
  subject?: string;
  payload?: string;
  /** Instead of subject and payload: "triggers/basic.json#case name", relative to the function's folder. */
  triggerCase?: string;
}

export async function debugFunctionCommand(ext: NexExtension, arg?: FunctionNode | Uri | RunFunctionArgs): Promise<FunctionRunResult | undefined> {
  const input = await askRunInput(ext, arg, 'Debug', (fn) => acceptForDebugging(ext, fn));
  if (!input) {
    return undefined;
  }
  return debugRun(ext, input.fn, input.subject, input.payload);
}

/** Debugging is for JavaScript: a WebAssembly function gets an explanation and the offer to run it. */
async function acceptForDebugging(ext: NexExtension, fn: ValidFunction): Promise<boolean> {
  if (fn.manifest.type === 'v8') {
    return true;
  }
  const choice = await ext.ui.info(
    `${fn.manifest.name} is a WebAssembly function: debugging with breakpoints is for JavaScript functions (WebAssembly runs on @wasmer/wasi, which has no debugger here).`,
    'Run Instead',
  );
  if (choice === 'Run Instead') {
    await runFunctionCommand(ext, { function: fn.dir });
  }
  return false;
}

/** One debug run of `fn`, reported like any run (output, diagnostics, hints, the host-services panel). */
export function debugRun(ext: NexExtension, fn: ValidFunction, subject: string, payload: string): Promise<FunctionRunResult> {
  return ext.runs.run(fn, subject, utf8(payload), 'debug');
}

/** "Debug" on a trigger case: the case runs under the debugger and reports in the Test Explorer. */
export async function debugTriggerCaseCommand(ext: NexExtension, id: string): Promise<CaseResult | undefined> {
  return runTriggerCaseCommand(ext, id, { debug: true });
}

/**
 * Resolves `nex` launch configurations: F5 with `{ "type": "nex", "function": ..., "subject": ...,
 * "payload": ... }` or `"triggerCase"`. The run starts its own `node` session, so this one is not
 * started (undefined); an F5 without launch.json debugs the function of the active editor.
 */
export class NexDebugConfigurations implements DebugConfigurationProvider {
  constructor(private readonly ext: NexExtension) {}

  provideDebugConfigurations(): ProviderResult<DebugConfiguration[]> {
    const fn = this.ext.catalog.functions.find((f) => isValid(f) && f.manifest.type === 'v8');
    return [
      {
        type: 'nex',
        request: 'launch',
        name: 'Debug Nex function',
        function: fn && isValid(fn) ? fn.manifest.name : 'my-function',
        subject: fn && isValid(fn) ? (fn.manifest.triggers?.[0] ?? fn.manifest.name).replace(/\*|>/g, 'test') : 'demo.test',
        payload: '',
      },
    ];
  }

  async resolveDebugConfiguration(folder: WorkspaceFolder | undefined, config: NexLaunchConfiguration, _token?: CancellationToken): Promise<DebugConfiguration | undefined> {
    if (!(await requireTrust(this.ext))) {
      return undefined;
    }
    if (!config.type && !config.request) {
      // F5 without a launch.json: the function of the active editor, asking for subject and payload.
      const active = Window.activeTextEditor?.document.uri;
      await debugFunctionCommand(this.ext, active?.scheme === 'file' ? active : undefined);
      return undefined;
    }
    const def = await this.findFunction(folder, config.function);
    if (!def) {
      return undefined;
    }
    if (!isValid(def)) {
      await debugFunctionCommand(this.ext, { function: def.dir }); // says what is wrong with the manifest
      return undefined;
    }
    if (!(await acceptForDebugging(this.ext, def))) {
      return undefined;
    }
    if (config.triggerCase) {
      const id = this.findCase(def, config.triggerCase);
      if (id) {
        void debugTriggerCaseCommand(this.ext, id);
      }
      return undefined;
    }
    if (config.subject === undefined) {
      void debugFunctionCommand(this.ext, { function: def.dir, payload: config.payload });
      return undefined;
    }
    void debugRun(this.ext, def, config.subject, config.payload ?? '');
    return undefined;
  }

  private async findFunction(folder: WorkspaceFolder | undefined, target: string | undefined): Promise<FunctionDefinition | undefined> {
    const catalog = this.ext.catalog;
    if (!catalog.loaded) {
      await catalog.refresh();
    }
    if (!target) {
      void this.ext.ui.error('This "nex" launch configuration names no "function": give its folder (relative to the workspace folder) or its name.');
      return undefined;
    }
    const base = folder?.uri.fsPath ?? '';
    const asPath = path.resolve(base, target);
    const found = (fs.existsSync(asPath) ? catalog.findFor(asPath) : undefined) ?? catalog.functions.find((f) => f.manifest?.name === target);
    if (!found) {
      void this.ext.ui.error(`The "nex" launch configuration's function "${target}" is neither a function folder nor the name of a function in this workspace.`);
    }
    return found;
  }

  private findCase(def: ValidFunction, ref: string): string | undefined {
    const hash = ref.lastIndexOf('#');
    const file = path.resolve(def.dir, hash >= 0 ? ref.slice(0, hash) : ref);
    const name = hash >= 0 ? ref.slice(hash + 1) : undefined;
    const triggerFile = this.ext.cases.filesOf(def).find((f) => path.resolve(f.file) === file);
    const tc = triggerFile?.cases.find((c) => name === undefined || c.name === name);
    if (!tc) {
      const known = triggerFile ? triggerFile.cases.map((c) => `"${c.name}"`).join(', ') : undefined;
      void this.ext.ui.error(
        triggerFile
          ? `The "nex" launch configuration's triggerCase "${ref}": ${path.basename(file)} has no case "${name}" (it has ${known || 'no cases'}).`
          : `The "nex" launch configuration's triggerCase "${ref}": ${file} is not a trigger file of ${def.manifest.name} (write "triggers/<file>.json#<case name>").`,
      );
      return undefined;
    }
    return caseId(tc);
  }
}
