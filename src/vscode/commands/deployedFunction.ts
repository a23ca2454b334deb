/**
 * A deployed function from the editor, on either generation of Nex: Trigger Deployed Function… (a
 * request on one of its triggers, the reply shown and remembered as the last run) and Show Deployed
 * Logs (a log channel that follows it through redeploys).
 */
import * as fs from 'fs';
import * as path from 'path';
import { window as Window } from 'vscode';
import { utf8 } from '../../core/bytes';
import { decodeValue } from '../../core/valueCodec';
import { deployNamespace, ValidFunction } from '../../core/manifest';
import { concreteSubjectProblem } from '../../core/subject';
import { findWorkloads } from '../../deploy/stopWorkloads';
import { FunctionFailedError, remoteReplyHints, triggerFunction, TriggerResult } from '../../deploy/triggerFunction';
import { followFunctionLogs } from '../../deploy/followLogs';
import { type NexEvent } from '../../nex/events';
import { NexControlClient } from '../../nex/controlClient';
import { formatMs, renderReply } from '../../run/runReport';
import { currentConnection } from '../connections/currentConnection';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';
import { pickFunction } from './functionPick';

/** A deployed function by name (from the Deployed view, or scripted), with the namespace it runs in when known. */
export interface DeployedArg {
  name?: string;
  namespace?: string;
  function?: string;
}

/**
 * The deployed function a command applies to: its name, and its namespace when the item or the
 * function's manifest (deploy.namespace) says; else the connection's namespace is meant.
 */
export async function deployedTarget(ext: NexExtension, arg: FunctionNode | DeployedArg | undefined, title: string): Promise<{ name: string; namespace?: string } | undefined> {
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
  const conn = await currentConnection(ext.connections);
  const namespace = fn ? deployNamespace(fn, conn.namespace) : conn.namespace;
  let result: TriggerResult;
  try {
    // The node's function_exec_failed event ends the wait as soon as it arrives, in the node's words.
    result = await triggerFunction(conn.nc, subject, payload, { namespace, workloadName: name });
  } catch (e) {
    if (e instanceof FunctionFailedError) {
      const where = e.event.generation === '0.4' ? `workload ${e.event.workloadId ?? e.event.source}` : `node ${e.event.nodeId}`;
      ext.reporter.output('error', `✖ ${name} on ${conn.label}: "${subject}" failed on ${where} after ${formatMs(e.afterMs)} (${e.event.type}): ${e.nodeError}`);
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
    ext.runs.remember({
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
  const cases = fn ? ext.cases.filesOf(fn).flatMap((f) => f.cases) : [];
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
  const conn = await currentConnection(ext.connections);
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
      const line = eventLine(event);
      write(line.level, line.text);
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

/**
 * A function's event as its log channel shows it, from either generation: a 0.2/0.3 node's
 * `function_exec_succeeded/failed` (trigger_subject, elapsed_nanos, error) and the functions
 * nexlet's FUNCTIONTRIGGERED (subject, duration_ms, error), deploys and stops by their type.
 */
export function eventLine(event: NexEvent): { level: 'info' | 'error'; text: string } {
  const data = event.data;
  const subject = typeof data.trigger_subject === 'string' ? data.trigger_subject : typeof data.subject === 'string' && event.generation === '0.4' ? data.subject : undefined;
  const ms = typeof data.elapsed_nanos === 'number' && data.elapsed_nanos > 0 ? data.elapsed_nanos / 1e6 : typeof data.duration_ms === 'number' ? data.duration_ms : undefined;
  const failed = event.failed === true || event.type === 'function_exec_failed';
  const error = typeof data.error === 'string' ? data.error : undefined;
  return { level: failed ? 'error' : 'info', text: `event ${event.type}${subject ? ` on ${subject}` : ''}${ms !== undefined ? ` in ${formatMs(ms)}` : ''}${failed ? `: ${error ?? 'failed'}` : ''}` };
}
