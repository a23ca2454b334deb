/**
 * Trigger cases in the Test Explorer: the case model's functions → trigger files → cases as test
 * items (an invalid manifest or a broken trigger file as an errored item), a Run profile with
 * continuous run, a Debug profile, and "Run on Node", which sends the cases to the deployed
 * functions over the current connection. Local results go to the case results (the status bar,
 * diagnostics and inline results show them); each case runs through the editor's run service.
 */
import * as path from 'path';
import {
  CancellationToken,
  CancellationTokenSource,
  Disposable,
  Range,
  TestController,
  TestItem,
  TestMessage,
  TestRun,
  TestRunProfileKind,
  TestRunRequest,
  tests as Tests,
  Uri,
  workspace as Workspace,
} from 'vscode';
import { deployNamespace, isValid } from '../../core/manifest';
import { formatProblem } from '../../core/problems';
import { deployedFunctions, type DeployedSnapshot } from '../../explorer/deployedModel';
import { NexControlClient } from '../../nex/controlClient';
import { formatMs } from '../../run/runReport';
import { BuildFailedError } from '../../toolchain/buildRunner';
import type { CaseRef, TriggerCaseModel } from '../../triggers/caseModel';
import type { CaseResults } from '../../triggers/caseResults';
import { CaseResult, RemoteCaseTargets, runTriggerCaseRemote } from '../../triggers/caseRunner';
import { caseId } from '../../triggers/triggerCases';
import type { ConnectionManager, NexConnection } from '../connections/connectionManager';
import { currentConnection } from '../connections/currentConnection';
import type { FunctionCatalog } from '../functionCatalog';
import type { RunService } from '../runService';
import { caseLocation, errorLocation } from './caseLocations';

/** What the Test Explorer integration needs from the context. */
export interface TriggerTestsDeps {
  readonly catalog: FunctionCatalog;
  readonly cases: TriggerCaseModel;
  readonly caseResults: CaseResults;
  readonly runs: RunService;
  readonly connections: ConnectionManager;
  /** What the Deployed view knows (the triggers workloads were deployed with), for Run on Node's skips. */
  readonly deployed: { readonly snapshot: DeployedSnapshot | undefined };
}

/** How a batch of cases runs. */
export interface TestRunOptions {
  /** Send the cases to the deployed functions over the current connection (the local node when none). */
  remote?: boolean;
  /** Run JavaScript cases under the debugger, on V8 (breakpoints stop them). */
  debug?: boolean;
  /** The editor started the run on its own (on save): a failed build also gets a notification. */
  unasked?: boolean;
}

export interface CaseRunSummary {
  passed: number;
  failed: number;
  results: CaseResult[];
  cancelled: boolean;
}

export class TriggerTests implements Disposable {
  readonly controller: TestController;
  private readonly disposables: Disposable[] = [];
  private readonly continuous = new Set<{ include?: readonly TestItem[]; token: CancellationToken }>();

  constructor(private readonly deps: TriggerTestsDeps) {
    this.controller = Tests.createTestController('nex.triggerCases', 'Nex Trigger Cases');
    this.controller.refreshHandler = () => deps.catalog.refresh().then(() => deps.cases.sync());
    this.controller.createRunProfile('Run', TestRunProfileKind.Run, (request, token) => this.runRequest(request, token), true, undefined, true);
    this.controller.createRunProfile('Debug', TestRunProfileKind.Debug, (request, token) => this.execute(request, token, { debug: true }).then(() => undefined), true);
    this.controller.createRunProfile('Run on Node', TestRunProfileKind.Run, (request, token) => this.execute(request, token, { remote: true }).then(() => undefined), false);
    this.disposables.push(this.controller, deps.cases.onDidChange(() => this.showCases()));
    this.showCases();
  }

  /** Whether a continuous run is on: saving a function's files then runs its cases even with run on save off. */
  get hasContinuousRun(): boolean {
    return [...this.continuous].some((c) => !c.token.isCancellationRequested);
  }

  /**
   * The tree: functions → trigger files → cases. A function whose manifest is invalid, and a
   * trigger file that cannot be read, stay in it as errored items with the reason.
   */
  private showCases(): void {
    const items: TestItem[] = [];
    for (const { def, files } of this.deps.cases.functions) {
      if (!isValid(def)) {
        const fnItem = this.controller.createTestItem(def.dir, def.manifest?.name ?? path.basename(def.dir), Uri.file(def.manifestPath));
        fnItem.description = 'invalid manifest';
        fnItem.error = def.problems.map((p) => formatProblem(p)).join('\n');
        items.push(fnItem);
        continue;
      }
      if (files.length === 0) {
        continue;
      }
      const fnItem = this.controller.createTestItem(def.dir, def.manifest.name, Uri.file(def.manifestPath));
      fnItem.description = def.manifest.type === 'v8' ? 'JavaScript' : 'WebAssembly';
      for (const file of files) {
        const fileItem = this.controller.createTestItem(file.file, path.basename(file.file), Uri.file(file.file));
        if (file.problems.length > 0) {
          fileItem.error = file.problems.map((p) => formatProblem(p)).join('\n');
        }
        for (const tc of file.cases) {
          const caseItem = this.controller.createTestItem(caseId(tc), tc.name, Uri.file(file.file));
          caseItem.range = new Range(tc.line - 1, 0, tc.line - 1, 0);
          caseItem.description = tc.subject;
          fileItem.children.add(caseItem);
        }
        fnItem.children.add(fileItem);
      }
      items.push(fnItem);
    }
    this.controller.items.replace(items);
  }

  /** Runs cases by id (all when none given), here or on the node (`remote`), reporting to the Test Explorer; the cases are synced with their files first. */
  async runCases(ids?: string[], token?: CancellationToken, options: TestRunOptions = {}): Promise<CaseRunSummary> {
    this.deps.cases.sync();
    const items = (ids ?? this.deps.cases.caseIds()).map((id) => this.findItem(id)).filter((i): i is TestItem => i !== undefined);
    return this.execute(new TestRunRequest(items), token ?? new CancellationTokenSource().token, options);
  }

  private async runRequest(request: TestRunRequest, token: CancellationToken): Promise<void> {
    if (request.continuous) {
      // Continuous run: re-run these cases whenever their functions change (see RunOnSave).
      const entry = { include: request.include, token };
      this.continuous.add(entry);
      token.onCancellationRequested(() => this.continuous.delete(entry));
      return;
    }
    await this.execute(request, token);
  }

  private leafIds(request: TestRunRequest): string[] {
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    const ids: string[] = [];
    const visit = (item: TestItem) => {
      if (excluded.has(item.id)) {
        return;
      }
      if (this.deps.cases.case(item.id)) {
        ids.push(item.id);
      }
      item.children.forEach(visit);
    };
    if (request.include) {
      request.include.forEach(visit);
    } else {
      this.controller.items.forEach(visit);
    }
    return ids;
  }

  /**
   * Runs the request's cases and reports them. Locally their results go to the case results (the
   * status bar, diagnostics and inline results); on the node (`remote`) they show in the Test
   * Explorer only, since they test the deployed function rather than the workspace's.
   */
  private async execute(request: TestRunRequest, token: CancellationToken, options: TestRunOptions = {}): Promise<CaseRunSummary> {
    const ids = this.leafIds(request);
    const run = this.controller.createTestRun(request, options.remote ? 'Nex trigger cases on the node' : undefined, true);
    const summary: CaseRunSummary = { passed: 0, failed: 0, results: [], cancelled: false };
    const refuse = (message: string) => {
      ids.forEach((id) => run.errored(this.findItem(id)!, new TestMessage(message)));
      summary.failed += ids.length;
      run.end();
      return summary;
    };
    if (!Workspace.isTrusted) {
      ids.forEach((id) => run.skipped(this.findItem(id)!));
      run.appendOutput('Nex functions run only in a trusted workspace.\r\n');
      run.end();
      return summary;
    }
    ids.forEach((id) => run.enqueued(this.findItem(id)!));
    let conn: NexConnection | undefined;
    if (options.remote) {
      try {
        conn = await currentConnection(this.deps.connections);
      } catch (e) {
        return refuse(`cannot run the cases on a node: ${(e as Error).message}`);
      }
      run.appendOutput(`Sending the cases to the deployed functions on ${conn.label} (${conn.nc.getServer()}).\r\n`);
    }
    const remoteTargets = conn && this.remoteTargets(conn);
    // A function whose build failed is not built again for each of its cases.
    const buildFailures = new Map<string, BuildFailedError>();
    const recorded: Array<[string, CaseResult]> = [];
    for (const id of ids) {
      const item = this.findItem(id)!;
      const ref = this.deps.cases.case(id)!;
      if (token.isCancellationRequested) {
        summary.cancelled = true;
        run.skipped(item);
        continue;
      }
      run.started(item);
      const refused =
        options.debug && ref.def.manifest.type === 'wasm'
          ? `${ref.def.manifest.name} is a WebAssembly function: debugging with breakpoints is for JavaScript functions; run the case instead`
          : buildFailures.get(ref.def.dir)?.message;
      if (refused) {
        run.errored(item, new TestMessage(refused));
        summary.failed++;
        continue;
      }
      const remote = remoteTargets ? await remoteTargets.of(ref.def, ref.tc.subject) : undefined;
      if (remote && 'skip' in remote) {
        run.appendOutput(`${ref.def.manifest.name} › ${ref.tc.name}: skipped: ${remote.skip}\r\n`, caseLocation(ref.tc), item);
        run.skipped(item);
        continue;
      }
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      let result: CaseResult;
      try {
        result = conn
          ? await runTriggerCaseRemote(conn.nc, ref.tc, { signal: abort.signal, namespace: remote?.namespace, workloadName: ref.def.manifest.name, nodeVersion: remote?.nodeVersion })
          : await this.deps.runs.runCase(ref, { debug: options.debug, signal: abort.signal, unasked: options.unasked });
      } catch (e) {
        if (conn && token.isCancellationRequested) {
          summary.cancelled = true;
          run.skipped(item);
          continue;
        }
        // Only a failed build gets here: runTriggerCase turns every other problem into a failed case.
        if (e instanceof BuildFailedError) {
          buildFailures.set(ref.def.dir, e);
        }
        run.errored(item, new TestMessage((e as Error).message));
        summary.failed++;
        continue;
      } finally {
        sub.dispose();
      }
      if (result.run?.outcome.error?.kind === 'cancelled') {
        summary.cancelled = true;
        run.skipped(item);
        continue;
      }
      summary.results.push(result);
      if (!conn) {
        recorded.push([id, result]);
      }
      reportResult(run, item, ref, result, conn?.label);
      summary[result.status === 'passed' ? 'passed' : 'failed']++;
    }
    run.end();
    if (!conn) {
      this.deps.caseResults.record(recorded);
    }
    return summary;
  }

  /** Where Run on Node sends each case, or why it skips it: from what the Deployed view knows (the triggers the workloads were deployed with). */
  private remoteTargets(conn: NexConnection): RemoteCaseTargets {
    return new RemoteCaseTargets(
      new NexControlClient(conn.nc, conn.profile.inboxPrefix),
      (def) => deployNamespace(def, conn.namespace),
      async (namespace) => {
        const snapshot = this.deps.deployed.snapshot;
        return snapshot ? deployedFunctions(snapshot).filter((d) => d.namespace === namespace) : [];
      },
    );
  }

  private findItem(id: string): TestItem | undefined {
    const ref = this.deps.cases.case(id);
    return ref && this.controller.items.get(ref.def.dir)?.children.get(ref.tc.file)?.children.get(id);
  }

  dispose(): void {
    Disposable.from(...this.disposables).dispose();
  }
}

/** A case's result in the Test Explorer: its line in the output, a pass, or a failure with the expected/actual diff at the case and the thrown error at its line. */
function reportResult(run: TestRun, item: TestItem, ref: CaseRef, result: CaseResult, onNode: string | undefined): void {
  const location = caseLocation(ref.tc);
  if (result.run || result.remote) {
    run.appendOutput(`${ref.def.manifest.name} › ${ref.tc.name}: ${result.status} in ${formatMs(result.durationMs)}${onNode ? ` on ${onNode}` : ''}\r\n`, location, item);
  }
  for (const warning of result.warnings) {
    run.appendOutput(`  ⚠ ${warning}\r\n`, location, item);
  }
  if (result.status === 'passed') {
    run.passed(item, result.durationMs);
    return;
  }
  const messages = result.failures.map((f, i) => {
    const m = i === 0 && result.expected !== undefined ? TestMessage.diff(f, result.expected, result.actual ?? '') : new TestMessage(f);
    m.location = location;
    return m;
  });
  // An error the function threw also points at its line in the function's own source.
  const thrownAt = errorLocation(ref.def, result);
  if (thrownAt) {
    const m = new TestMessage(`${result.run!.outcome.error!.message} (${path.basename(thrownAt.uri.fsPath)}:${thrownAt.range.start.line + 1})`);
    m.location = thrownAt;
    messages.push(m);
  }
  run.failed(item, messages, result.durationMs);
}
