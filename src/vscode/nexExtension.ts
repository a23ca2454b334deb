/**
 * The context and the composition root: the one object that owns the extension's long-lived
 * resources, and the one place that builds them, in order, each from the parts it uses (a part gets
 * those, never the half-built context). Two scopes hold what must be disposed: the extension scope
 * (everything below, for the extension's lifetime) and the connection scope (what belongs to the
 * current NATS connection: its Deployed model, the deployed functions' log channels; disposed when
 * that connection goes). The commands stand above the context (they get it whole, built): the
 * command layer is handed in (CommandLayer), not imported. Behaviour lives in the commands, views
 * and reporters that these resources make up.
 */
import {
  DebugConfigurationProvider,
  debug as Debug,
  Disposable,
  DiagnosticCollection,
  ExtensionContext,
  languages as Languages,
  LogOutputChannel,
  Uri,
  window as Window,
  workspace as Workspace,
} from 'vscode';
import type { FunctionLogFollower } from '../deploy/followLogs';
import { DebugSessionExecutor } from './debug/debugSessionExecutor';
import { WorkerExecutor } from '../executor/workerExecutor';
import { CaseResults } from '../triggers/caseResults';
import { TriggerCaseModel } from '../triggers/caseModel';
import { TriggerCodeLensProvider } from './codeLens';
import { Config, contributedSettingKeys } from './config';
import { EngineWarmUp } from './engineWarmUp';
import { FunctionCatalog } from './functionCatalog';
import { DisposableStore } from './lifecycle';
import { LocalNodeController, localNodeStateDir } from './localNode/localNodeController';
import { LostWorkloadsNotice } from './localNode/lostWorkloadsNotice';
import { startLocalNodeWithWorkspace } from './localNode/startWithWorkspace';
import { ConnectionManager } from './connections/connectionManager';
import { DeployedView } from './views/deployedView';
import { FunctionsView } from './views/functionsView';
import { MockStates } from './mockStates';
import { MocksDiagnostics } from './mocksDiagnostics';
import { HostServicesPanels } from './panels/hostServicesPanel';
import { InvokePanels } from './panels/invokePanel';
import { RunReporter } from './runReporter';
import { RunService } from './runService';
import { SourceChecks } from './sourceChecks';
import { feedCases } from './testing/caseFeed';
import { CaseViews } from './testing/caseViews';
import { RunOnSave } from './testing/runOnSave';
import { TriggerTests } from './testing/triggerTests';
import { EditorUi, vscodeUi } from './ui';

export const OUTPUT_CHANNEL_NAME = 'Nex Functions';

/** Show Deployed Logs' follower and log channel of one deployed function. */
export interface DeployedLog {
  channel: LogOutputChannel;
  follower: Promise<FunctionLogFollower>;
  lines: readonly string[];
}

/** What belongs to the current connection, disposed when it goes: its disposables, and the deployed functions' logs. */
export class ConnectionScope extends DisposableStore {
  /** Show Deployed Logs: the follower and log channel of each deployed function ("<namespace>/<name>"). */
  readonly deployedLogs = new Map<string, DeployedLog>();
}

/** The command layer, which stands above the context: handed to it to be wired in once the parts are built. */
export interface CommandLayer {
  /** Registers every command against the built context. */
  register(ext: NexExtension): Disposable;
  /** Resolves `nex` launch configurations. */
  debugConfigurations(ext: NexExtension): DebugConfigurationProvider;
  /** Deploy Function, scripted: the workspace function in `function` (its folder) to the node `nodeId`. */
  deploy(ext: NexExtension, request: { function: string; nodeId: string }): Promise<unknown>;
}

const CODE_LENS_FILES = [{ scheme: 'file', pattern: '**/triggers/*.json' }, { scheme: 'file', pattern: '**/nexfunction.json' }, { scheme: 'file', language: 'javascript' }];

export class NexExtension implements Disposable {
  /** Disposed with the extension. */
  readonly extensionScope = new DisposableStore();
  private connection = new ConnectionScope();
  readonly log: LogOutputChannel;
  readonly config: Config;
  readonly executor: WorkerExecutor;
  /** Runs JavaScript functions on V8 under VS Code's JavaScript debugger. */
  readonly debugExecutor: DebugSessionExecutor;
  readonly catalog: FunctionCatalog;
  readonly mocks: MockStates;
  readonly reporter: RunReporter;
  /** Every run from the editor: the invoke panel, Quick Run, Debug, the Test Explorer, Save as Trigger Case. */
  readonly runs: RunService;
  /** The workspace's trigger cases, kept current from the catalog and the files. */
  readonly cases = new TriggerCaseModel();
  /** The last local result of each case. */
  readonly caseResults: CaseResults;
  /** The cases in the Test Explorer. */
  readonly triggerTests: TriggerTests;
  /** The status bar, diagnostics, inline results and Functions-view summaries of the cases. */
  readonly caseViews: CaseViews;
  readonly runOnSave: RunOnSave;
  readonly panels: HostServicesPanels;
  /** The invoke panels (Run Function), one per function. */
  readonly invoke: InvokePanels;
  /** The local Nex node of this window, with its log and status bar; stopped with the extension. */
  readonly localNode: LocalNodeController;
  readonly connections: ConnectionManager;
  /** The Deployed view (nodes and workloads of the connection). */
  readonly deployed: DeployedView;
  /** The Functions view. */
  readonly functionsView: FunctionsView;
  /** A node's refusal of a function's file, at its line: cleared by the next deploy and when the file is saved (the source check takes over). */
  readonly deployDiagnostics: DiagnosticCollection;
  /** Says what a stop of the local node lost; not at the stop that ends the extension. */
  private readonly lostWorkloads: LostWorkloadsNotice;
  /** The first read of the workspace's functions is done: the Functions view and the Test Explorer are filled. */
  readonly viewsReady: Promise<void>;
  /** Every question to the user goes through this port (tests script it). */
  ui: EditorUi = vscodeUi;

  constructor(
    readonly context: ExtensionContext,
    commands: CommandLayer,
  ) {
    const own = <T extends { dispose(): unknown }>(d: T) => this.extensionScope.add(d);
    const ui = () => this.ui;
    // The parts read the UI port when they ask (tests swap it), never a copy of it.
    const withUi = <T extends object>(deps: T): T & { readonly ui: EditorUi } => Object.defineProperty(deps, 'ui', { get: ui, enumerable: true }) as T & { readonly ui: EditorUi };

    this.log = own(Window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true }));
    const config = (this.config = own(new Config(contributedSettingKeys(context.extension.packageJSON), this.log)));
    const executor = (this.executor = new WorkerExecutor({ workerScript: context.asAbsolutePath('dist/functionWorker.js'), wasmPath: context.asAbsolutePath('dist/quickjs.wasm') }));
    own({ dispose: () => executor.dispose() });
    const debugExecutor = (this.debugExecutor = new DebugSessionExecutor({
      extensionPath: context.extensionPath,
      folder: (request) => (request.kind !== 'wasm' ? Workspace.getWorkspaceFolder(Uri.file(request.fileName)) : undefined) ?? Workspace.workspaceFolders?.[0],
    }));

    // What the views show first: the functions and their cases.
    const catalog = (this.catalog = own(new FunctionCatalog()));
    const mocks = (this.mocks = own(new MockStates(context.workspaceState)));
    const reporter = (this.reporter = own(new RunReporter({ log: this.log, catalog, mocks, ui })));
    const cases = this.cases;
    own(feedCases(cases, catalog));
    const caseResults = (this.caseResults = own(new CaseResults(cases)));
    const caseViews = (this.caseViews = own(new CaseViews({ cases, caseResults, reporter })));

    // The local node and the connection, and what follows the connection.
    // Per workspace: two windows never share a node's identity or its private JetStream store.
    const nodeState = localNodeStateDir((context.storageUri ?? context.globalStorageUri).fsPath);
    const localNode = (this.localNode = own(new LocalNodeController({ stateDir: nodeState, config, ui })));
    const connections = (this.connections = own(new ConnectionManager({ localNode, secrets: context.secrets, log: this.log, newScope: () => this.newConnectionScope() })));
    own({ dispose: () => this.connection.dispose() });
    const deployed = (this.deployed = own(new DeployedView(connections, catalog, context.workspaceState)));
    this.functionsView = own(new FunctionsView(catalog, deployed, caseViews));

    // Running functions: the run service, the panels, the Test Explorer, run on save.
    const runs = (this.runs = new RunService(withUi({ context, executor, debugExecutor, config, catalog, mocks, reporter })));
    const invoke = (this.invoke = own(new InvokePanels(withUi({ context, catalog, config, reporter, runs, cases }))));
    this.panels = own(new HostServicesPanels(withUi({ context, catalog, mocks, reporter, invoke })));
    const triggerTests = (this.triggerTests = own(new TriggerTests({ catalog, cases, caseResults, runs, connections, deployed })));
    this.runOnSave = own(new RunOnSave({ catalog, cases, config, triggerTests, caseViews }));

    // What only edits and saves need.
    own(new MocksDiagnostics(catalog));
    own(new EngineWarmUp(catalog, executor, this.log));
    own(new SourceChecks(catalog, executor));
    const codeLens = own(new TriggerCodeLensProvider(catalog));
    own(Languages.registerCodeLensProvider(CODE_LENS_FILES, codeLens));
    const deployDiagnostics = (this.deployDiagnostics = own(Languages.createDiagnosticCollection('nex-deploy')));
    own(Workspace.onDidSaveTextDocument((doc) => deployDiagnostics.delete(doc.uri)));

    // The commands, on the built context.
    own(commands.register(this));
    own(Debug.registerDebugConfigurationProvider('nex', commands.debugConfigurations(this)));
    this.lostWorkloads = own(
      new LostWorkloadsNotice({ localNode, functions: () => catalog.functions, connections, deploy: (request) => commands.deploy(this, request), ui }),
    );

    this.viewsReady = catalog.refresh();
    // The local node starts once the views are filled: they do not wait for it.
    const connectWhenIdle = () => {
      if (!connections.connection && connections.state !== 'connecting') {
        connections.connect({ kind: 'local' }).catch((e: Error) => this.log.warn(`could not connect to the local node: ${e.message}`));
      }
    };
    own(startLocalNodeWithWorkspace({ localNode, config, ui, connectWhenIdle }, this.viewsReady));
    void this.viewsReady.then(() => config.logEffective());
  }

  /** Show Deployed Logs: the current connection's follower and log channel of each deployed function ("<namespace>/<name>"), gone with the connection. */
  get deployedLogs(): Map<string, DeployedLog> {
    return this.connection.deployedLogs;
  }

  /** Disposes everything of the previous connection and starts an empty scope for the next. */
  newConnectionScope(): ConnectionScope {
    this.connection.dispose();
    this.connection = new ConnectionScope();
    return this.connection;
  }

  /** The end of the extension: the local node and its nats-server stop (what they lost is not offered for redeploy). */
  async shutdown(): Promise<void> {
    this.lostWorkloads.dispose();
    await this.localNode.stop();
  }

  dispose(): void {
    this.extensionScope.dispose();
  }
}
