import { ExtensionContext, ExtensionMode } from 'vscode';
import { FunctionDefinition } from '../core/manifest';
import { FunctionRunResult } from '../executor/functionRun';
import { NexExtension } from './nexExtension';
import { UserInterface } from './ui';

/** What integration tests may reach; returned from activate() outside production only. */
export interface NexTestApi {
  functions(): readonly FunctionDefinition[];
  refresh(): Promise<void>;
  lastRun(): FunctionRunResult | undefined;
  /** Lines written to the "Nex Functions" output channel by recent runs. */
  outputLines(): readonly string[];
  setUi(ui: UserInterface): void;
}

export function activate(context: ExtensionContext): NexTestApi | undefined {
  const ext = new NexExtension(context);
  context.subscriptions.push(ext);
  if (context.extensionMode === ExtensionMode.Production) {
    return undefined;
  }
  return {
    functions: () => ext.catalog.functions,
    refresh: () => ext.catalog.refresh(),
    lastRun: () => ext.lastResult,
    outputLines: () => ext.recentOutput,
    setUi: (ui) => {
      ext.ui = ui;
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
