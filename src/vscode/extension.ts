import { ExtensionContext, ExtensionMode } from 'vscode';
import { FunctionDefinition } from '../core/manifest';
import { FunctionRunResult } from '../run/functionRun';
import { CaseResult } from '../triggers/caseRunner';
import { PanelSnapshot } from '../hostservices/panelModel';
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
  hostServices: {
    snapshot(functionDir: string): PanelSnapshot | undefined;
    receive(functionDir: string, message: unknown): Promise<string | undefined>;
  };
  testing: {
    caseIds(): string[];
    statusText(): string;
    saveRuns(): number;
    results(): ReadonlyMap<string, CaseResult>;
  };
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
    hostServices: {
      snapshot: (dir) => {
        const def = ext.catalog.findFor(dir);
        return def?.manifest ? ext.panels.snapshotOf(def) : undefined;
      },
      receive: async (dir, message) => {
        const def = ext.catalog.findFor(dir);
        return def ? ext.panels.receive(def, message) : 'no such function';
      },
    },
    testing: {
      caseIds: () => ext.triggerTests.caseIds(),
      statusText: () => ext.triggerTests.statusText,
      saveRuns: () => ext.triggerTests.saveRuns,
      results: () => ext.triggerTests.results,
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
