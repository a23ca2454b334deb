/**
 * Deployed functions from the editor: Deploy Function…, Preview Deploy…, Undeploy Function…,
 * Trigger Deployed Function…, Show Deployed Logs, Show Issuer Key. They use the current connection (the local node
 * when nothing else is connected), the issuer and publisher keys as the `nex` CLI keeps them, and
 * report a node's own error text verbatim, with a hint where one helps.
 */
import * as fs from 'fs';
import * as path from 'path';
import { commands as Commands, env as Env, ProgressLocation, Uri, window as Window, workspace as Workspace } from 'vscode';
import { utf8 } from '../../core/bytes';
import { decodeValue } from '../../core/valueCodec';
import { entryPath, ValidFunction } from '../../core/manifest';
import { concreteSubjectProblem, inNamespace } from '../../core/subject';
import { deployFunction, DeployOptions, DeployPreview, DeployResult, previewDeploy } from '../../deploy/deployFunction';
import { type Deploy04Result, detectGeneration } from '../../deploy/deploy04';
import type { DeployedSnapshot } from '../../explorer/deployedModel';
import { findWorkloads, FunctionFailedError, followFunctionLogs, remoteReplyHints, stopWorkloads, triggerFunction, TriggerResult } from '../../deploy/deployedOps';
import { locateRefusal, NodeRefusal, sourceRefusalKind } from '../../deploy/nodeReplies';
import { defaultKeysDir, ISSUER_KEY_FILE, loadPublisherKeys, PUBLISHER_XKEY_FILE, PublisherKeys } from '../../deploy/publisherKeys';
import { NexControlClient } from '../../nex/controlClient';
import { formatMs, renderReply } from '../../run/runReport';
import { failedCasesBeforeDeploy } from '../../triggers/caseReport';
import { caseId, loadTriggerFiles } from '../../triggers/triggerCases';
import { NexConnection } from '../connections/connectionManager';
import { currentConnection } from '../connections/currentConnection';
import { diagnostic } from '../diagnostics';
import type { NexExtension } from '../nexExtension';
import { openAt } from '../runReporter';
import { FunctionNode } from '../views/functionsView';
import { Workload04Item } from '../views/deployedView';
import { deploy04FromEditor, undeploy04FromEditor } from './deployed04';
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
    namespace: fn.manifest.deploy?.namespace ?? conn.namespace,
    jsDomain: conn.profile.jsDomain,
    inboxPrefix: conn.profile.inboxPrefix,
    onBuildOutput: (line) => ext.reporter.output('info', `  ${line}`),
  };
}

/** Runs `work` under a progress notification with a Cancel button, which aborts its signal. */
function withCancellableProgress<T>(title: string, work: (report: (message: string) => void, signal: AbortSignal) => Promise<T>): Thenable<T> {
  return Window.withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    return work((message) => progress.report({ message }), abort.signal);
  });
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
    result = await withCancellableProgress(`Deploying ${fn.manifest.name}`, (report, signal) =>
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
  const preview = await withCancellableProgress(`Previewing the deploy of ${fn.manifest.name}`, (report, signal) =>
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
  const location = await locateRefusal(e.nodeMessage, { type: fn.manifest.type, file: entryPath(fn), compat: fn.manifest.compat }, ext.runner);
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
  const ids = loadTriggerFiles(fn).flatMap((f) => f.cases.map(caseId));
  if (ids.length === 0) {
    return true;
  }
  ext.triggerTests.rebuild();
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

/** A deployed function by name (from the Deployed view, or scripted), with the namespace it runs in when known. */
interface DeployedArg {
  name?: string;
  namespace?: string;
  function?: string;
}

/**
 * The deployed function a command applies to: its name, and its namespace when the item or the
 * function's manifest (deploy.namespace) says; else the connection's namespace is meant.
 */
async function deployedTarget(ext: NexExtension, arg: FunctionNode | DeployedArg | undefined, title: string): Promise<{ name: string; namespace?: string } | undefined> {
  if (arg instanceof FunctionNode) {
    const m = arg.definition.manifest;
    return m ? { name: m.name, namespace: m.deploy?.namespace } : undefined;
  }
  if (arg?.name) {
    return { name: arg.name, namespace: arg.namespace };
  }
  const fn = await pickFunction(ext, arg?.function ? { function: arg.function } : undefined, title);
  return fn ? { name: fn.manifest.name, namespace: fn.manifest.deploy?.namespace } : undefined;
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
  const nex04 = [...(snapshot?.nodes04 ?? []).flatMap((n) => n.workloads ?? []), ...(snapshot?.workloads04Unplaced ?? [])].some((w) => w.isFunction && named(w));
  if (legacy || nex04) {
    return { legacy, nex04 };
  }
  const only04 = (snapshot?.nodes ?? []).length === 0 && (snapshot?.nodes04 ?? []).length > 0;
  return { legacy: !only04, nex04: only04 };
}

/** Sends a request to a deployed function: a subject that matches one of its triggers, a payload as text. */
export async function triggerDeployedCommand(ext: NexExtension, arg?: FunctionNode | { function?: string; name?: string; subject?: string; payload?: string }): Promise<TriggerResult | undefined> {
  const scripted = arg && !(arg instanceof FunctionNode) ? arg : {};
  // A deployed workload without a local source (from the Deployed view) has a name and no folder.
  const fn = scripted.name && !scripted.function ? undefined : await pickFunction(ext, arg instanceof FunctionNode ? arg : scripted.function ? { function: scripted.function } : undefined, 'Trigger which deployed function?');
  const name = fn?.manifest.name ?? scripted.name;
  if (!name) {
    return undefined;
  }
  const example = (fn?.manifest.triggers?.[0] ?? `${name}.test`).replace(/\.>$/, '.test').replace(/\*/g, 'test').replace(/^>$/, 'test');
  const subject = scripted.subject ?? (await ext.ui.input({ title: `Trigger ${name} on its node: subject`, value: example, validate: concreteSubjectProblem }));
  if (subject === undefined) {
    return undefined;
  }
  const payload = scripted.payload !== undefined ? utf8(scripted.payload) : await askPayload(ext, name, fn);
  if (payload === undefined) {
    return undefined;
  }
  const conn = await connection(ext);
  const namespace = fn?.manifest.deploy?.namespace ?? conn.namespace;
  let result: TriggerResult;
  try {
    // The node's function_exec_failed event ends the wait as soon as it arrives, in the node's words.
    result = await triggerFunction(conn.nc, subject, payload, { namespace, workloadName: name });
  } catch (e) {
    if (e instanceof FunctionFailedError) {
      ext.reporter.output('error', `✖ ${name} on ${conn.label}: "${subject}" failed on node ${e.event.nodeId} after ${formatMs(e.afterMs)} (function_exec_failed): ${e.nodeError}`);
      ext.log.show(true);
    }
    throw e;
  }
  ext.reporter.output('info', `▶ ${name} on ${conn.label}: "${subject}" → ${result.size} bytes in ${formatMs(result.roundTripMs)}`);
  for (const line of renderReply(result.reply)) {
    ext.reporter.output('info', `  ${line}`);
  }
  let hints = remoteReplyHints(result.reply);
  if (hints.length > 0) {
    // The wording follows the node's version: ask the function's node only when there is a hint to give.
    const nodeVersion = (await findWorkloads(new NexControlClient(conn.nc, conn.profile.inboxPrefix), namespace, name).catch(() => []))[0]?.nodeVersion;
    hints = remoteReplyHints(result.reply, nodeVersion);
    hints.forEach((h) => ext.reporter.output('info', `  ℹ ${h.message}`));
  }
  if (fn) {
    // A remote run becomes the last run too: Save as Trigger Case records its subject, payload and reply.
    ext.reporter.rememberRun({
      functionName: name,
      entryPath: (fn.sourcePath ?? fn.artifactPath)!,
      subject,
      payloadBytes: payload.length,
      payload,
      outcome: { ok: true, reply: result.reply, logs: [], durationMs: result.roundTripMs, profile: fn.manifest.compat ?? 'docs', hostCalls: [], warnings: hints },
      wallMs: result.roundTripMs,
    });
  }
  ext.log.show(true);
  ext.reporter.showStatusMessage(`$(cloud) Nex: ${name} replied ${result.size} bytes in ${formatMs(result.roundTripMs)} (deployed)`);
  return result;
}

/** The payload of a remote trigger: text, JSON (checked), a file, or the payload of one of the function's saved trigger cases. */
async function askPayload(ext: NexExtension, name: string, fn: ValidFunction | undefined): Promise<Uint8Array | undefined> {
  const cases = fn ? loadTriggerFiles(fn).flatMap((f) => f.cases) : [];
  const kind = await ext.ui.pick<string>(
    [
      { label: '$(edit) Text', description: 'sent as UTF-8', value: 'text' },
      { label: '$(json) JSON', description: 'checked before it is sent', value: 'json' },
      { label: '$(file) A file', description: 'its bytes as they are', value: 'file' },
      ...cases.map((c) => ({ label: `$(beaker) ${c.name}`, description: `the payload of this trigger case (${path.basename(c.file)})`, value: `case:${c.file}#${c.name}` })),
    ],
    { title: `Trigger ${name} on its node: payload` },
  );
  if (kind === undefined) {
    return undefined;
  }
  if (kind.startsWith('case:')) {
    const tc = cases.find((c) => `case:${c.file}#${c.name}` === kind)!;
    return decodeValue(tc.payload, { where: `${path.basename(tc.file)}: case "${tc.name}" payload`, baseDir: path.dirname(tc.file) });
  }
  const validate =
    kind === 'json'
      ? (v: string) => {
          try {
            JSON.parse(v);
            return undefined;
          } catch (e) {
            return `not JSON: ${(e as Error).message}`;
          }
        }
      : kind === 'file'
        ? (v: string) => (fs.existsSync(v) ? undefined : `${v}: no such file`)
        : undefined;
  const value = await ext.ui.input({ title: `Trigger ${name} on its node: ${kind === 'file' ? 'payload file' : `payload (${kind})`}`, prompt: kind === 'file' ? 'The path of the file' : 'Empty for none', value: '', validate });
  if (value === undefined) {
    return undefined;
  }
  return kind === 'file' ? new Uint8Array(fs.readFileSync(value)) : utf8(value);
}

/** How many of a log channel's last lines are kept in memory (for the test API). */
const KEPT_LOG_LINES = 500;

/**
 * Follows a deployed function's logs (every workload of that name, and the ones later deploys
 * start) into a log channel of its own, with its events. One follower and one channel per function
 * (name and namespace) on the connection, owned by the connection's scope: showing it again only
 * reveals the channel. Returns the workload ids followed so far.
 */
export async function showDeployedLogsCommand(ext: NexExtension, arg?: FunctionNode | DeployedArg): Promise<string[] | undefined> {
  const target = await deployedTarget(ext, arg, 'Show the logs of which deployed function?');
  if (!target) {
    return undefined;
  }
  const { name } = target;
  const conn = await connection(ext);
  const namespace = target.namespace ?? conn.namespace;
  const key = `${namespace}/${name.toLowerCase()}`;
  const followers = ext.deployedLogs;
  const existing = followers.get(key);
  if (existing) {
    existing.channel.show(true);
    return (await existing.follower).workloads.map((w) => w.workloadId);
  }
  // Registered before anything is awaited, so a second Show while this one starts finds it.
  const channel = Window.createOutputChannel(`Nex: ${name} (deployed${namespace === conn.namespace ? '' : ` in ${namespace}`})`, { log: true });
  const lines: string[] = [];
  /** Writes a line to the channel, and keeps the last ones for the test API. */
  const write = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error', text: string) => {
    channel[level](text);
    lines.push(text);
    lines.splice(0, lines.length - KEPT_LOG_LINES);
  };
  const follower = followFunctionLogs(conn.nc, {
    namespace,
    name,
    client: new NexControlClient(conn.nc, conn.profile.inboxPrefix),
    onLine: (line) => write(line.level, `[${line.workloadId}] ${line.text}`),
    onRedeployed: (w, shown) => write('info', `${shown} redeployed as ${w.workloadId} on node ${w.nodeId}: following it too`),
    // Its events too: deploys, undeploys, each execution's success (with its time) or failure.
    onEvent: (event) => {
      const data = event.data;
      const failed = event.type === 'function_exec_failed';
      write(failed ? 'error' : 'info', `event ${event.type}${data.trigger_subject ? ` on ${data.trigger_subject}` : ''}${typeof data.elapsed_nanos === 'number' && data.elapsed_nanos > 0 ? ` in ${formatMs(data.elapsed_nanos / 1e6)}` : ''}${failed ? `: ${data.error}` : ''}`);
    },
  });
  const entry = { channel, follower, lines };
  followers.set(key, entry);
  /** Takes this follower's entry out (a later Show may have made a new one meanwhile). */
  const forget = () => {
    if (followers.get(key) === entry) {
      followers.delete(key);
    }
  };
  conn.scope.add({
    dispose: () => {
      void follower.then((f) => f.stop(), () => undefined);
      channel.dispose();
      forget();
    },
  });
  let started;
  try {
    started = await follower;
  } catch (e) {
    forget();
    channel.dispose();
    throw e;
  }
  if (started.initial.length === 0) {
    started.stop();
    channel.dispose();
    forget();
    void ext.ui.info(`${name} is not deployed on ${conn.label} (namespace ${namespace}).`);
    return [];
  }
  const ids = started.workloads.map((w) => w.workloadId);
  write('info', `following the logs of ${started.name} (${ids.join(', ')}) on ${conn.label}, and of its next deploys`);
  channel.show(true);
  return ids;
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
