/**
 * The context: the one object that owns the extension's long-lived resources, and nothing else.
 * Two scopes hold what must be disposed: the extension scope (everything below, for the
 * extension's lifetime) and the connection scope (what belongs to the current NATS connection,
 * disposed when that connection goes). Behaviour lives in the commands, views and reporters that
 * these resources make up.
 */
import { DiagnosticCollection, ExtensionContext, languages as Languages, LogOutputChannel, Uri, window as Window, workspace as Workspace } from 'vscode';
import type { FunctionLogFollower } from '../deploy/deployedOps';
import { DebugSessionRunner } from './debug/debugSessionRunner';
import { FunctionRunner } from '../executor/functionRunner';
import { CaseResults } from '../triggers/caseResults';
import { TriggerCaseModel } from '../triggers/caseModel';
import { Config, contributedSettingKeys } from './config';
import { FunctionCatalog } from './functionCatalog';
import { DisposableStore } from './lifecycle';
import { LocalNodeController, localNodeStateDir } from './localNode/localNodeController';
import { ConnectionManager } from './connections/connectionManager';
import { DeployedView } from './views/deployedView';
import { MockStates } from './mockStates';
import { MocksDiagnostics } from './mocksDiagnostics';
import { HostServicesPanels } from './panels/hostServicesPanel';
import { InvokePanels } from './panels/invokePanel';
import { RunReporter } from './runReporter';
import { RunService } from './runService';
import { feedCases } from './testing/caseFeed';
import { CaseViews } from './testing/caseViews';
import { RunOnSave } from './testing/runOnSave';
import { TriggerTests } from './testing/triggerTests';
import { EditorUi, vscodeUi } from './ui';

export const OUTPUT_CHANNEL_NAME = 'Nex Functions';

export class NexExtension {
  /** Disposed with the extension. */
  readonly extensionScope = new DisposableStore();
  private connection = new DisposableStore();
  readonly log: LogOutputChannel;
  readonly config: Config;
  readonly runner: FunctionRunner;
  /** Runs JavaScript functions on V8 under VS Code's JavaScript debugger. */
  readonly debugExecutor: DebugSessionRunner;
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
  /**
   * Show Deployed Logs: the current connection's follower and log channel of each deployed function
   * ("<namespace>/<name>"); each entry is disposed and removed with the connection's scope.
   */
  readonly deployedLogs = new Map<string, { channel: LogOutputChannel; follower: Promise<FunctionLogFollower>; lines: readonly string[] }>();
  /** A node's refusal of a function's file, at its line: cleared by the next deploy and when the file is saved (the source check takes over). */
  readonly deployDiagnostics: DiagnosticCollection;
  /** Every question to the user goes through this port (tests script it). */
  ui: EditorUi = vscodeUi;

  constructor(readonly context: ExtensionContext) {
    const own = <T extends { dispose(): unknown }>(d: T) => this.extensionScope.add(d);
    this.log = own(Window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true }));
    this.config = own(new Config(contributedSettingKeys(context.extension.packageJSON), this.log));
    this.runner = new FunctionRunner({ workerScript: context.asAbsolutePath('dist/functionWorker.js'), wasmPath: context.asAbsolutePath('dist/quickjs.wasm') });
    own({ dispose: () => this.runner.dispose() });
    this.debugExecutor = new DebugSessionRunner({
      extensionPath: context.extensionPath,
      folder: (request) => (request.kind !== 'wasm' ? Workspace.getWorkspaceFolder(Uri.file(request.fileName)) : undefined) ?? Workspace.workspaceFolders?.[0],
    });
    this.catalog = own(new FunctionCatalog());
    this.mocks = own(new MockStates(context.workspaceState));
    own(new MocksDiagnostics(this.catalog));
    this.reporter = own(new RunReporter({ log: this.log, catalog: this.catalog, mocks: this.mocks, ui: () => this.ui }));
    this.runs = new RunService(this);
    own(feedCases(this.cases, this.catalog));
    this.caseResults = own(new CaseResults(this.cases));
    this.panels = own(new HostServicesPanels(this));
    this.invoke = own(new InvokePanels(this));
    // Per workspace: two windows never share a node's identity or its private JetStream store.
    const nodeState = localNodeStateDir((context.storageUri ?? context.globalStorageUri).fsPath);
    this.localNode = own(new LocalNodeController({ stateDir: nodeState, config: this.config, ui: () => this.ui }));
    this.connections = own(
      new ConnectionManager({ localNode: this.localNode, secrets: context.secrets, log: this.log, newScope: () => this.newConnectionScope() }),
    );
    this.deployed = own(new DeployedView(this.connections, this.catalog, context.workspaceState));
    this.triggerTests = own(new TriggerTests(this));
    this.caseViews = own(new CaseViews(this));
    this.runOnSave = own(new RunOnSave(this));
    const deployDiagnostics = own(Languages.createDiagnosticCollection('nex-deploy'));
    own(Workspace.onDidSaveTextDocument((doc) => deployDiagnostics.delete(doc.uri)));
    this.deployDiagnostics = deployDiagnostics;
    own({ dispose: () => this.connection.dispose() });
    this.config.logEffective();
  }

  /** Disposes everything of the previous connection and starts an empty scope for the next. */
  newConnectionScope(): DisposableStore {
    this.connection.dispose();
    this.connection = new DisposableStore();
    return this.connection;
  }

  dispose(): void {
    this.extensionScope.dispose();
  }
}
