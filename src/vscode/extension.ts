import { TestItem, ExtensionContext, ExtensionMode, ThemeIcon, TreeItem } from 'vscode';
import { NexDebugConfigurations } from './commands/debugFunction';
import { deployFunctionCommand } from './commands/deploy';
import { FunctionDefinition, isValid } from '../core/manifest';
import { DEFAULT_NAMESPACE } from '../core/subject';
import type { DeployedSnapshot } from '../explorer/deployedModel';
import { FunctionRunResult } from '../run/functionRun';
import { CaseResult } from '../triggers/caseRunner';
import { PanelSnapshot } from '../hostservices/panelModel';
import { CommandLayer, NexExtension } from './nexExtension';
import { completeUi, UserInterface } from './ui';
import { registerCommands } from './commands';
import type { RenderedItem } from './views/deployedView';

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
  invoke: {
    /** Handles a message as if the function's invoke panel had sent it. */
    receive(functionDir: string, message: unknown): Promise<unknown>;
    /** What the panel starts with (subject, suggestions, samples). */
    initial(functionDir: string): { subject: string; suggestions: string[]; samples: Array<{ label: string; source: string }> } | undefined;
    /** Whether the function's panel is open. */
    isOpen(functionDir: string): boolean;
  };
  testing: {
    caseIds(): string[];
    statusText(): string;
    /** The tooltip's list of what is wrong, one "- [what](link): message" line each. */
    statusProblems(): string[];
    /** The status bar's tooltip, as markdown. */
    statusTooltip(): string;
    /** Test Explorer items (any depth) that carry an error, as "label: error". */
    erroredItems(): string[];
    saveRuns(): number;
    results(): ReadonlyMap<string, CaseResult>;
    /** The inline result texts drawn in a visible editor of `file`, one per decorated line. */
    decorations(file: string): string[];
  };
  /**
   * Activation as measured in the extension host, in ms from the start of activate(): to its return,
   * and to the views ready (the first read of the workspace's functions done: the Functions view and
   * the Test Explorer filled).
   */
  activation(): Promise<{ activateMs: number; viewsReadyMs: number }>;
  /** What the Functions view shows: each function's label and description, and its children's. */
  functionsView(): Array<{ label: string; description: string; children: Array<{ label: string; description: string; icon?: string }> }>;
  localNode: {
    /** The status bar text, e.g. "$(server) Nex node: 0 functions". */
    status(): string;
    nodeId(): string | undefined;
    natsUrl(): string | undefined;
    /** What the `nex.localNode.running` context key (menus, the Deployed view's welcome) was last set to. */
    runningContext(): boolean | undefined;
  };
  connections: {
    /** The connection status bar text, e.g. "$(plug) Nex: local node". */
    status(): string;
    state(): string;
    /** What the secret storage holds for a saved connection (test builds only). */
    secretsOf(name: string): Promise<Record<string, string>>;
  };
  deployed: {
    /** What the Deployed view shows: the connection's nodes and their workloads. */
    snapshot(): DeployedSnapshot | undefined;
    /** The Deployed tree as it renders: labels, descriptions, icons, children. */
    tree(): RenderedItem[];
    /** The message above the tree. */
    message(): string | undefined;
    /** The last lines Show Deployed Logs wrote to a function's log channel; undefined when it has none. */
    logLines(name: string, namespace?: string): readonly string[] | undefined;
  };
}

/** The extension of the running activation: deactivate() is called without it, and waits on the local node's stop. */
let active: NexExtension | undefined;

/** The command layer, handed to the context (it stands above it). */
const COMMAND_LAYER: CommandLayer = {
  register: registerCommands,
  debugConfigurations: (ext) => new NexDebugConfigurations(ext),
  deploy: (ext, request) => deployFunctionCommand(ext, request),
};

export function activate(context: ExtensionContext): NexTestApi | undefined {
  const started = performance.now();
  const ext = new NexExtension(context, COMMAND_LAYER);
  active = ext;
  context.subscriptions.push(ext);
  const viewsReady = ext.viewsReady.then(() => performance.now() - started);
  const activateMs = performance.now() - started;
  if (context.extensionMode === ExtensionMode.Production) {
    return undefined;
  }
  return {
    activation: async () => ({ activateMs, viewsReadyMs: await viewsReady }),
    functions: () => ext.catalog.functions,
    refresh: () => ext.catalog.refresh(),
    lastRun: () => ext.runs.lastRun,
    outputLines: () => ext.reporter.recentOutput,
    setUi: (ui) => {
      ext.ui = completeUi(ui);
    },
    hostServices: {
      snapshot: (dir) => {
        const def = ext.catalog.findFor(dir);
        return isValid(def) ? ext.panels.snapshotOf(def) : undefined;
      },
      receive: async (dir, message) => {
        const def = ext.catalog.findFor(dir);
        return isValid(def) ? ext.panels.receive(def, message) : 'no such function';
      },
    },
    invoke: {
      receive: async (dir, message) => {
        const def = ext.catalog.findFor(dir);
        return isValid(def) ? ext.invoke.receive(def, message) : 'no such function';
      },
      initial: (dir) => {
        const def = ext.catalog.findFor(dir);
        return isValid(def) ? ext.invoke.initMessage(def) : undefined;
      },
      isOpen: (dir) => ext.invoke.isOpen(dir),
    },
    testing: {
      caseIds: () => ext.cases.caseIds(),
      statusText: () => ext.caseViews.statusText,
      statusProblems: () => ext.caseViews.statusProblems,
      statusTooltip: () => ext.caseViews.statusTooltip,
      erroredItems: () => {
        const found: string[] = [];
        const visit = (item: TestItem) => {
          if (item.error) {
            found.push(`${item.label}: ${typeof item.error === 'string' ? item.error : item.error.value}`);
          }
          item.children.forEach(visit);
        };
        ext.triggerTests.controller.items.forEach(visit);
        return found;
      },
      saveRuns: () => ext.runOnSave.runs,
      results: () => ext.caseResults.all,
      decorations: (file) => ext.caseViews.decorations.get(file) ?? [],
    },
    functionsView: () => {
      const text = (item: TreeItem) => ({
        label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
        description: typeof item.description === 'string' ? item.description : '',
        icon: item.iconPath instanceof ThemeIcon ? item.iconPath.id : undefined,
      });
      const provider = ext.functionsView.provider;
      return provider.getChildren().map((node) => ({ ...text(node.toTreeItem()), children: provider.getChildren(node).map((child) => text(child.toTreeItem())) }));
    },
    localNode: {
      status: () => ext.localNode.statusText,
      nodeId: () => ext.localNode.host?.node.nodeId,
      natsUrl: () => ext.localNode.host?.natsUrl,
      runningContext: () => ext.localNode.runningContextKey,
    },
    connections: {
      status: () => ext.connections.statusText,
      state: () => ext.connections.state,
      secretsOf: async (name) => JSON.parse((await context.secrets.get(`nex.connection:${name}`)) ?? '{}') as Record<string, string>,
    },
    deployed: {
      snapshot: () => ext.deployed.snapshot,
      tree: () => ext.deployed.renderedTree(),
      message: () => ext.deployed.message,
      logLines: (name, namespace = DEFAULT_NAMESPACE) => ext.deployedLogs.get(`${namespace}/${name.toLowerCase()}`)?.lines,
    },
  };
}

/** Everything is disposed through context.subscriptions; this waits until the local node and its nats-server have stopped. */
export async function deactivate(): Promise<void> {
  const ext = active;
  active = undefined;
  await ext?.shutdown();
}
