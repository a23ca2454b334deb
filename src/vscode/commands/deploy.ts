/**
 * Deploying from the editor: Deploy Function…, Preview Deploy…, Undeploy Function…, Show Issuer
 * Key, on Nex 0.2/0.3 here and on Nex 0.4 through deployed04.ts (the generation chosen as nexfn
 * chooses it). They use the current connection (the local node when nothing else is connected),
 * the issuer and publisher keys as the `nex` CLI keeps them, and report a node's own error text
 * verbatim, with a hint where one helps.
 */
import * as fs from 'fs';
import * as path from 'path';
import { commands as Commands, env as Env, Uri, window as Window, workspace as Workspace } from 'vscode';
import { deployNamespace, entryPath, ValidFunction } from '../../core/manifest';
import { inNamespace } from '../../core/subject';
import { deployFunction, DeployOptions, DeployPreview, DeployResult, previewDeploy } from '../../deploy/deployFunction';
import { type Deploy04Result, detectGeneration } from '../../deploy/deploy04';
import { type DeployedSnapshot, workloads04Of } from '../../explorer/deployedModel';
import { stopWorkloads } from '../../deploy/stopWorkloads';
import { locateRefusal, NodeRefusal, sourceRefusalKind } from '../../deploy/nodeReplies';
import { defaultKeysDir, ISSUER_KEY_FILE, loadPublisherKeys, PUBLISHER_XKEY_FILE, PublisherKeys } from '../../deploy/publisherKeys';
import { NexControlClient } from '../../nex/controlClient';
import { failedCasesBeforeDeploy } from '../../triggers/caseReport';
import { caseId } from '../../triggers/triggerCases';
import { NexConnection } from '../connections/connectionManager';
import { currentConnection } from '../connections/currentConnection';
import { diagnostic } from '../diagnostics';
import type { NexExtension } from '../nexExtension';
import { openAt } from '../runReporter';
import { FunctionNode } from '../views/functionsView';
import { Workload04Item } from '../views/deployedView';
import { deploy04FromEditor, undeploy04FromEditor } from './deployed04';
import { type DeployedArg, deployedTarget } from './deployedFunction';
import { pickFunction, requireTrust } from './functionPick';

/** The current connection; with none, the local node (started when needed), as the built-in default. */
function connection(ext: NexExtension): Promise<NexConnection> {
  return currentConnection(ext.connections);
}

/** The keys folder: `nex.deploy.keysDir`, else ~/.nex as the `nex` CLI uses. */
function keysDir(ext: NexExtension): string {
  return ext.config.deployKeysDir || defaultKeysDir();
}

/** The issuer and publisher keys; when missing, asks before creating them (never overwrites). */
async function keys(ext: NexExtension): Promise<PublisherKeys | undefined> {
  const dir = keysDir(ext);
  const missing = [ISSUER_KEY_FILE, PUBLISHER_XKEY_FILE].filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    const choice = await ext.ui.info(
      `Deploying signs the workload with an issuer key and seals its environment with a publisher key. ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing in ${dir}: create ${missing.length === 1 ? 'it' : 'them'} (as the nex CLI does)?`,
      'Create Keys',
    );
    if (choice !== 'Create Keys') {
      return undefined;
    }
  }
  return loadPublisherKeys({ dir, onCreated: (line) => ext.log.info(line) });
}

/** What a deploy and a preview of `fn` over `conn` share: the manifest's deploy.namespace (else the connection's), the connection's JetStream domain and inbox prefix, build output in the log. */
function sharedDeployOptions(ext: NexExtension, conn: NexConnection, fn: ValidFunction): Pick<DeployOptions, 'namespace' | 'jsDomain' | 'inboxPrefix' | 'onBuildOutput'> {
  return {
    namespace: deployNamespace(fn, conn.namespace),
    jsDomain: conn.profile.jsDomain,
    inboxPrefix: conn.profile.inboxPrefix,
    onBuildOutput: (line) => ext.reporter.output('info', `  ${line}`),
  };
}

/** Arguments for scripted use (tests, keybindings). */
export interface DeployArgs {
  function?: string;
  nodeId?: string;
  /** Force a generation of Nex, as nexfn's --nex-version (else: the manifest's deploy.nodeVersion, then who answers). */
  nexVersion?: '0.2' | '0.3' | '0.4';
}

export async function deployFunctionCommand(ext: NexExtension, arg?: FunctionNode | DeployArgs): Promise<DeployResult | Deploy04Result | undefined> {
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const scripted = arg && !(arg instanceof FunctionNode) ? arg : {};
  const fn = await pickFunction(ext, arg instanceof FunctionNode ? arg : scripted.function ? { function: scripted.function } : undefined, 'Deploy which function?');
  if (!fn) {
    return undefined;
  }
  if (ext.config.deployRunCasesFirst && !(await casesAllowDeploy(ext, fn))) {
    return undefined;
  }
  const conn = await connection(ext);
  const generation = await detectGeneration(conn.nc, { requested: scripted.nexVersion, manifestNodeVersion: fn.manifest.deploy?.nodeVersion }, { inboxPrefix: conn.profile.inboxPrefix });
  if (generation.note) {
    ext.log.info(`deploy ${fn.manifest.name}: ${generation.note}`);
  }
  if (generation.generation === '0.4') {
    return deploy04FromEditor(ext, fn, conn, { node: scripted.nodeId });
  }
  const publisher = await keys(ext);
  if (!publisher) {
    return undefined;
  }
  ext.deployDiagnostics.delete(Uri.file(entryPath(fn)));
  let result: DeployResult;
  try {
    result = await ext.ui.progress(`Deploying ${fn.manifest.name}`, (report, signal) =>
      deployFunction(conn.nc, fn, {
        ...sharedDeployOptions(ext, conn, fn),
        nodeId: scripted.nodeId,
        keys: publisher,
        signal,
        onProgress: (p) => {
          report(p.message);
          ext.log.info(`deploy ${fn.manifest.name}: ${p.message}`);
        },
      }),
    );
  } catch (e) {
    if (e instanceof NodeRefusal && sourceRefusalKind(e.nodeMessage)) {
      await reportSourceRefusal(ext, fn, e);
      return undefined;
    }
    throw e;
  }
  const where = `${result.node.nodeName ?? result.node.nodeId.slice(0, 8)} (Nex ${result.version})${inNamespace(result.namespace)}`;
  ext.log.info(`deployed ${result.name} as ${result.workloadId} on ${result.node.nodeId} in ${result.namespace}${result.replaced.length ? `, replacing ${result.replaced.join(', ')}` : ''}`);
  if (result.recordProblem) {
    ext.log.warn(`deploy ${result.name}: ${result.recordProblem}`);
  }
  void ext.deployed.workloadDeployed(result.node.nodeId);
  ext.reporter.showStatusMessage(`$(cloud-upload) Nex: ${result.name} deployed on ${where}`);
  clearStatusWhenGone(ext, result.node.nodeId, result.workloadId);
  void ext.ui.info(`${result.name} is deployed on ${where} as ${result.workloadId}${result.triggers.length ? `, triggered by ${result.triggers.join(', ')}` : ''}.`);
  return result;
}

/** The status bar's "deployed" message goes as soon as the workload is no longer there (undeployed, its node stopped, disconnected). */
function clearStatusWhenGone(ext: NexExtension, nodeId: string, workloadId: string): void {
  // A snapshot from before the node's INFO listed the workload does not count as "gone".
  let seen = false;
  const listener = ext.deployed.onDidChange((snapshot) => {
    const node = snapshot?.nodes.find((n) => n.id === nodeId);
    const running = node?.state === 'up' && node.workloads.some((w) => w.id === workloadId);
    if (running) {
      seen = true;
    } else if (seen || !node || node.state !== 'up') {
      ext.reporter.clearStatusMessage();
      listener.dispose();
    }
  });
  setTimeout(() => listener.dispose(), 10000).unref?.();
}

/**
 * Shows what deploying a function would send, as a read-only JSON document (untitled), the
 * environment's values hidden: the node, the subjects, the artifact, the JWT's claims and the
 * DEPLOY body. Nothing is uploaded, stopped or deployed, and missing keys are not written.
 */
export async function previewDeployCommand(ext: NexExtension, arg?: FunctionNode | DeployArgs): Promise<DeployPreview | Deploy04Result | undefined> {
  if (!(await requireTrust(ext))) {
    return undefined;
  }
  const scripted = arg && !(arg instanceof FunctionNode) ? arg : {};
  const fn = await pickFunction(ext, arg instanceof FunctionNode ? arg : scripted.function ? { function: scripted.function } : undefined, 'Preview the deploy of which function?');
  if (!fn) {
    return undefined;
  }
  const conn = await connection(ext);
  const generation = await detectGeneration(conn.nc, { requested: scripted.nexVersion, manifestNodeVersion: fn.manifest.deploy?.nodeVersion }, { inboxPrefix: conn.profile.inboxPrefix });
  if (generation.generation === '0.4') {
    const dry = await deploy04FromEditor(ext, fn, conn, { dryRun: true, node: scripted.nodeId });
    await showReadOnlyJson({ generation: 'Nex 0.4', subject: dry.subject, adeploy: { ...dry.request, run_request: JSON.parse(dry.request.run_request) }, replaces: dry.replaced.map((r) => r.id), strategy: dry.strategy, ...(dry.environment ? { environment: dry.environment } : {}) });
    ext.log.info(`deploy preview of ${fn.manifest.name} (Nex 0.4): ${dry.subject}${dry.replaced.length ? `, would replace ${dry.replaced.map((r) => r.id).join(', ')}` : ''}`);
    return dry;
  }
  const preview = await ext.ui.progress(`Previewing the deploy of ${fn.manifest.name}`, (report, signal) =>
    previewDeploy(conn.nc, fn, { ...sharedDeployOptions(ext, conn, fn), nodeId: scripted.nodeId, keysDir: keysDir(ext), signal, onProgress: (p) => report(p.message) }),
  );
  await showReadOnlyJson(preview);
  ext.log.info(`deploy preview of ${fn.manifest.name}: node ${preview.node.nodeId} (Nex ${preview.node.version}), ${preview.subjects.deploy}${preview.replaces.length ? `, would replace ${preview.replaces.join(', ')}` : ''}`);
  return preview;
}

/** Shows `value` as a read-only JSON document (untitled): previews are for reading, not editing. */
async function showReadOnlyJson(value: unknown): Promise<void> {
  const doc = await Workspace.openTextDocument({ language: 'json', content: `${JSON.stringify(value, null, 2)}\n` });
  await Window.showTextDocument(doc, { preview: true });
  await Promise.resolve(Commands.executeCommand('workbench.action.files.setActiveEditorReadonlyInSession')).catch(() => undefined);
}

/**
 * A node refused the function's own file (a syntax error, a source too large): the node's text
 * verbatim, with where it points (the line, found by compiling the source here), as a diagnostic
 * on that line and as an error message with Go to Error.
 */
async function reportSourceRefusal(ext: NexExtension, fn: ValidFunction, e: NodeRefusal): Promise<void> {
  const location = await locateRefusal(e.nodeMessage, { type: fn.manifest.type, file: entryPath(fn), compat: fn.manifest.compat }, ext.executor);
  const refusal = e.at(location, fn.dir);
  ext.log.error(`deploy ${fn.manifest.name}: node ${e.nodeId} refused it: ${refusal.message}`);
  const node = e.nodeId.slice(0, 8);
  if (location) {
    ext.deployDiagnostics.set(Uri.file(location.file), [
      diagnostic({ line: location.line, column: location.column, message: `Deploy refused by node ${node}: ${e.nodeMessage}${e.hint ? ` (${e.hint})` : ''}`, source: 'nex deploy', code: sourceRefusalKind(e.nodeMessage), toLineEnd: true }),
    ]);
  }
  const where = location ? ` (${path.basename(location.file)}${location.line !== undefined ? `:${location.line}` : ''})` : '';
  const actions = location ? ['Go to Error', 'Show Output'] : ['Show Output'];
  void ext.ui.error(`Nex: ${fn.manifest.name}: ${e.nodeMessage}${where}${e.hint ? `. ${e.hint}` : ''}`, ...actions).then(async (choice) => {
    if (choice === 'Go to Error' && location) {
      await openAt(location.file, location.line, location.column);
    } else if (choice === 'Show Output') {
      ext.log.show();
    }
  });
}

/**
 * Runs the function's trigger cases first (nex.deploy.runCasesFirst); a failing case asks before
 * deploying, naming the first failed case and why, with Show Case (opens it at its line; no deploy).
 */
async function casesAllowDeploy(ext: NexExtension, fn: ValidFunction): Promise<boolean> {
  const ids = ext.cases.filesOf(fn).flatMap((f) => f.cases.map(caseId));
  if (ids.length === 0) {
    return true;
  }
  const summary = await ext.triggerTests.runCases(ids);
  const { text, first } = failedCasesBeforeDeploy(summary.results);
  if (!first) {
    return true;
  }
  const choice = await ext.ui.warn(`${fn.manifest.name}: its trigger cases ran before the deploy: ${text}. Deploy anyway?`, 'Deploy Anyway', 'Show Case', 'Cancel');
  if (choice === 'Show Case') {
    ext.log.info(`deploy ${fn.manifest.name}: not deployed; showing the failed case "${first.case.name}" (${path.basename(first.case.file)}:${first.case.line})`);
    await openAt(first.case.file, first.case.line);
  }
  return choice === 'Deploy Anyway';
}

export async function undeployFunctionCommand(ext: NexExtension, arg?: FunctionNode | DeployedArg | Workload04Item): Promise<number | undefined> {
  const target = arg instanceof Workload04Item ? { name: arg.name, namespace: arg.namespace } : await deployedTarget(ext, arg, 'Undeploy which function?');
  if (!target) {
    return undefined;
  }
  const { name } = target;
  const conn = await connection(ext);
  const dir = keysDir(ext);
  const namespace = target.namespace ?? conn.namespace;
  const where = arg instanceof Workload04Item ? { legacy: false, nex04: true } : runsWhere(ext.deployed.snapshot, name, namespace);
  let stopped04 = 0;
  if (where.nex04) {
    stopped04 = await undeploy04FromEditor(ext, conn, name, namespace);
    if (!where.legacy) {
      return stopped04;
    }
  }
  const stopped = await stopWorkloads(new NexControlClient(conn.nc, conn.profile.inboxPrefix), name, { namespace, keys: loadPublisherKeys({ dir, persist: false }) });
  // The node confirmed each stop: the rows go now (a 0.2.7 node publishes no event for a stop).
  stopped.forEach((w) => ext.deployed.workloadStopped(w.nodeId, w.workloadId));
  ext.log.info(`undeployed ${name}${inNamespace(namespace)}: ${stopped.length} workload${stopped.length === 1 ? '' : 's'} stopped`);
  void ext.ui.info(`${name} is undeployed${inNamespace(namespace)} (${stopped.length} workload${stopped.length === 1 ? '' : 's'} stopped).`);
  return stopped.length + stopped04;
}

/**
 * Where a function runs, as the Deployed view last saw it: on 0.2/0.3 nodes, on 0.4 nodes, or both.
 * Seen nowhere: the 0.2/0.3 stop is tried (it says what it finds), or the 0.4 one when only 0.4 nodes answer.
 */
function runsWhere(snapshot: DeployedSnapshot | undefined, name: string, namespace: string): { legacy: boolean; nex04: boolean } {
  const named = (w: { name: string; namespace: string }) => w.name === name && w.namespace === namespace;
  const legacy = (snapshot?.nodes ?? []).some((n) => n.workloads.some(named));
  const nex04 = workloads04Of(snapshot).some((w) => w.isFunction && named(w));
  if (legacy || nex04) {
    return { legacy, nex04 };
  }
  const only04 = (snapshot?.nodes ?? []).length === 0 && (snapshot?.nodes04 ?? []).length > 0;
  return { legacy: !only04, nex04: only04 };
}

/** Shows the issuer's public key (for nodes configured with valid_issuers); never the seed. */
export async function showIssuerKeyCommand(ext: NexExtension): Promise<string | undefined> {
  const publisher = await keys(ext);
  if (!publisher) {
    return undefined;
  }
  const choice = await ext.ui.info(`Issuer public key (add it to a node's valid_issuers): ${publisher.issuerPublicKey}`, 'Copy');
  if (choice === 'Copy') {
    await Env.clipboard.writeText(publisher.issuerPublicKey);
  }
  return publisher.issuerPublicKey;
}
