/**
 * nexfn deploy, stop, clone, lameduck, trigger, logs, events and record: deployed functions on Nex
 * nodes, with the `nex` CLI's connection flags. deploy and stop talk to Nex 0.4 nodes or to 0.2/0.3
 * ones, chosen as deploy04.ts chooseGeneration says (--nex-version forces it); clone is Nex 0.4's.
 * Results go to stdout, progress and timings to stderr. Nothing prompts: missing keys are created
 * and a line says so. logs and events run until Ctrl-C.
 * Exit codes: 0 done, 1 it failed (no node, a refusal, no reply, a workload not stopped…), 2 the
 * command was wrong.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { NatsConnection } from '@nats-io/nats-core';
import { utf8 } from '../core/bytes';
import { entryPath, functionDirFor, loadValidFunction, MANIFEST_FILE, MAX_DEPLOY_INSTANCES, type ValidFunction } from '../core/manifest';
import { ProblemError } from '../core/problems';
import { deployFunction, previewDeploy, type DeployOptions } from '../deploy/deployFunction';
import { cloneWorkload04, deployFunction04, detectGeneration, lameDuck04, NODE_NAME_TAG, stopWorkloads04, type GenerationChoice } from '../deploy/deploy04';
import { followFunctionLogs, watchEvents } from '../deploy/followLogs';
import { recordSubject } from '../deploy/recordSubject';
import { remoteReplyHints, triggerFunction } from '../deploy/triggerFunction';
import { stopWorkloads } from '../deploy/stopWorkloads';
import { type NexEvent } from '../nex/events';
import { type WorkloadLogLine } from '../nex/logs';
import { checkCaseFile, writeRecordedCases } from '../triggers/caseFiles';
import { locateRefusal, NodeRefusal } from '../deploy/nodeReplies';
import { defaultKeysDir, loadPublisherKeys, type PublisherKeys } from '../deploy/publisherKeys';
import { writeNexfile } from '../deploy/nexfile';
import { WorkerExecutor } from '../executor/workerExecutor';
import type { ConnectionProfile } from '../nats/connection';
import { DISCOVERY_WINDOW_MS, NexControlClient } from '../nex/controlClient';
import { Nex04Client } from '../nex04/client04';
import type { NexProtocolVersion } from '../nex/controlTypes';
import { formatMs } from '../run/runReport';
import { type ConnectionFlags, connectFromFlags, defaultNamespace, withConnectionFlags } from './connectionFlags';
import type { CliIo } from './cliIo';
import { stopSignal } from './stopSignal';
import { positiveNumber } from './numberOptions';

/** A mistake in the command line: exit code 2. */
class CommandLineError extends Error {}

/** What --nex-version takes: a 0.2/0.3 format, or Nex 0.4. */
type NexVersionFlag = NexProtocolVersion | '0.4';

interface KeyFlags {
  keys?: string;
  nexVersion?: NexVersionFlag;
}

const keysOption = () => new Option('--keys <dir>', `the folder of issuer.nk and publisher.xk, for 0.2/0.3 nodes (default: $NEX_KEYS_DIR, else ${defaultKeysDir({})})`);
const nexVersionOption = () =>
  new Option('--nex-version <version>', 'talk to Nex 0.4 nodes (0.4), or to 0.2/0.3 nodes in that deploy format (a source build reports "development"); default: Nex 0.4 when only 0.4 nodes answer').choices(['0.2', '0.3', '0.4']);

/** The 0.2/0.3 format of --nex-version (none for 0.4). */
function legacyFormat(flag: NexVersionFlag | undefined): NexProtocolVersion | undefined {
  return flag === '0.4' ? undefined : flag;
}

/** `--tag k=v`, repeatable, into a map (a later value of a key wins). */
function tagOption(value: string, all: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) {
    throw new InvalidArgumentError(`--tag takes name=value, e.g. --tag team=a; got "${value}"`);
  }
  return { ...all, [value.slice(0, at)]: value.slice(at + 1) };
}

/** Says the generation's note (both generations answer) on stderr. */
function sayChoice(choice: GenerationChoice, io: CliIo): void {
  if (choice.note) {
    io.stderr(`note: ${choice.note}\n`);
  }
}

/** Connects as the flags say, runs `action` and closes the connection, whatever happens. */
async function withNats(flags: ConnectionFlags, action: (nc: NatsConnection, profile: ConnectionProfile) => Promise<number>): Promise<number> {
  const { nc, profile } = await connectFromFlags(flags);
  try {
    return await action(nc, profile);
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** The function in a folder (or of a manifest), checked; a folder without a manifest is a command-line error. */
function loadDeployable(target: string): ValidFunction {
  const dir = functionDirFor(path.resolve(target));
  if (!dir) {
    throw new CommandLineError(`${target}: no ${MANIFEST_FILE} here or in the parent folder: deploy takes a function folder`);
  }
  return loadValidFunction(dir);
}

/**
 * The keys a stop is signed with, from --keys (default ~/.nex). Missing ones are not written: a new
 * issuer could stop nothing, so the node's refusal (with its hint) says what is wrong.
 */
function stopKeys(flags: KeyFlags, io: CliIo): PublisherKeys {
  return loadPublisherKeys({ dir: flags.keys, persist: false, onCreated: (line) => io.stderr(`${line}\n`) });
}


/** HH:MM:SS.mmm of now, for streamed lines. */
const clock = (): string => new Date().toISOString().slice(11, 23);

interface DeployFlags extends ConnectionFlags, KeyFlags {
  node?: string;
  dryRun?: boolean;
  tag?: Record<string, string>;
  instances?: number;
}

/**
 * A node's refusal of the function's own file, with where it points (the syntax error's line,
 * found by compiling the source here; the file for a size refusal), relative to the working
 * folder; any other error as it is.
 */
async function pointAtSource(e: unknown, fn: ValidFunction): Promise<never> {
  if (!(e instanceof NodeRefusal)) {
    throw e;
  }
  const runner = new WorkerExecutor();
  try {
    const location = await locateRefusal(e.nodeMessage, { type: fn.manifest.type, file: entryPath(fn), compat: fn.manifest.compat }, runner);
    throw e.at(location, process.cwd());
  } finally {
    runner.dispose();
  }
}

/**
 * nexfn deploy to Nex 0.4 nodes: the ADEPLOY body on stdout for --dry-run, else the new workloads;
 * how the old ones were replaced on stderr. A replaced workload that did not stop is exit code 1.
 */
async function deploy04Command(nc: NatsConnection, profile: ConnectionProfile, fn: ValidFunction, namespace: string, flags: DeployFlags, io: CliIo): Promise<number> {
  const result = await deployFunction04(nc, fn, {
    namespace,
    tags: flags.tag,
    instances: flags.instances,
    node: flags.node,
    jsDomain: profile.jsDomain,
    inboxPrefix: profile.inboxPrefix,
    dryRun: flags.dryRun,
    onProgress: (line) => io.stderr(`${line}\n`),
    onBuildOutput: (line) => io.stderr(`  ${line}\n`),
  });
  const env = result.environment ? `; the environment (${result.environment.names.join(', ')}) sealed to the nexlet's xkey ${result.environment.sealedTo}` : '';
  if (flags.dryRun) {
    io.stdout(`${JSON.stringify(result.request, null, 2)}\n`);
    const replaces = result.replaced.length > 0 ? `; it would replace ${result.replaced.map((r) => r.id).join(', ')} (${result.strategy.split(':')[0]})` : '';
    io.stderr(`dry run: the ADEPLOY body for ${result.subject}${env}${replaces}; nothing was uploaded (the request names the artifact's hash), deployed or stopped\n`);
    return 0;
  }
  io.stdout(`deployed ${fn.manifest.name} to Nex 0.4 in the namespace ${result.namespace} as workload ${result.started.map((s) => s.id).join(', ')}\n`);
  io.stderr(`${result.strategy}${env}\n`);
  for (const r of result.replaced) {
    io.stdout(r.stopped ? `replaced ${r.id} (stopped)\n` : `replaced ${r.id}, but it was NOT stopped: ${r.message}\n`);
  }
  return result.replaced.every((r) => r.stopped) ? 0 : 1;
}

async function deployCommand(target: string, flags: DeployFlags, io: CliIo): Promise<number> {
  const fn = loadDeployable(target);
  return withNats(flags, async (nc, profile) => {
    // An explicit --namespace wins; the default one gives way to the manifest's deploy.namespace.
    const namespace = flags.namespace === defaultNamespace() ? (fn.manifest.deploy?.namespace ?? flags.namespace) : flags.namespace;
    const choice = await detectGeneration(nc, { requested: flags.nexVersion, manifestNodeVersion: fn.manifest.deploy?.nodeVersion }, { inboxPrefix: profile.inboxPrefix });
    sayChoice(choice, io);
    if (choice.generation === '0.4') {
      return deploy04Command(nc, profile, fn, namespace, flags, io);
    }
    if (flags.instances !== undefined && flags.instances !== 1) {
      throw new CommandLineError(`--instances: a Nex 0.2/0.3 node runs one instance of a function (${choice.reason}); --nex-version 0.4 deploys to Nex 0.4 nodes`);
    }
    const options: DeployOptions = {
      namespace,
      nodeId: flags.node,
      keysDir: flags.keys,
      jsDomain: profile.jsDomain,
      inboxPrefix: profile.inboxPrefix,
      nexVersion: legacyFormat(flags.nexVersion),
      ...(flags.tag ? { tags: { ...(fn.manifest.deploy?.tags ?? {}), ...flags.tag } } : {}),
      onProgress: (p) => io.stderr(`${p.message}\n`),
      onBuildOutput: (line) => io.stderr(`  ${line}\n`),
    };
    if (flags.dryRun) {
      const preview = await previewDeploy(nc, fn, options);
      io.stdout(`${JSON.stringify(preview, null, 2)}\n`);
      io.stderr('dry run: nothing was uploaded, stopped or deployed\n');
      return 0;
    }
    const result = await deployFunction(nc, fn, options).catch((e: unknown) => pointAtSource(e, fn));
    const replaced = result.replaced.length > 0 ? `, replacing ${result.replaced.join(', ')}` : '';
    io.stdout(`deployed ${result.name} to node ${result.node.nodeId} (Nex ${result.version}) in the namespace ${result.namespace} as workload ${result.workloadId}${replaced}\n`);
    return 0;
  });
}

/** nexfn nexfile: the function's Nexfile (JSON, nothing else) on stdout, its artifact uploaded; progress on stderr. */
async function nexfileCommand(target: string, flags: ConnectionFlags, io: CliIo): Promise<number> {
  const fn = loadDeployable(target);
  return withNats(flags, async (nc, profile) => {
    const nexfile = await writeNexfile(nc, fn, { jsDomain: profile.jsDomain, onBuildOutput: (line) => io.stderr(`  ${line}\n`) });
    io.stdout(`${JSON.stringify(nexfile, null, 2)}\n`);
    const a = nexfile.start_request.artifact;
    io.stderr(`uploaded ${path.basename(entryPath(fn))} to ${a.bucket} as ${a.key}; deploy it to the functions nexlet with: nex workload start -f <this file>${fn.manifest.deploy?.namespace ? ` --namespace ${fn.manifest.deploy.namespace}` : ''}\n`);
    if (nexfile.start_request.environment) {
      io.stderr('note: the environment is in the Nexfile as plain text, and a Nex 0.4 node stores it as sent (CLONE returns it): seal secrets to the nexlet\'s xkey instead (sealed_environment)\n');
    }
    return 0;
  });
}

interface StopFlags extends ConnectionFlags, KeyFlags {
  node?: string;
}

async function stopCommand(nameOrId: string, flags: StopFlags, io: CliIo): Promise<number> {
  return withNats(flags, async (nc, profile) => {
    const choice = await detectGeneration(nc, { requested: flags.nexVersion }, { inboxPrefix: profile.inboxPrefix });
    sayChoice(choice, io);
    if (choice.generation === '0.4') {
      if (flags.node) {
        throw new CommandLineError('--node: a Nex 0.4 UNDEPLOY reaches every node, and the one that runs the workload stops it; stop by workload id to stop one instance');
      }
      const results = await stopWorkloads04(nc, nameOrId, { namespace: flags.namespace, inboxPrefix: profile.inboxPrefix });
      for (const r of results) {
        const what = r.name ? `${r.name} (${r.id})` : r.id;
        io.stdout(r.stopped ? `stopped ${what} in the namespace ${flags.namespace}\n` : `NOT stopped: ${what} in the namespace ${flags.namespace}: ${r.message}\n`);
      }
      return results.every((r) => r.stopped) ? 0 : 1;
    }
    const client = new NexControlClient(nc, profile.inboxPrefix);
    const stopped = await stopWorkloads(client, nameOrId, { namespace: flags.namespace, nodeId: flags.node, keys: stopKeys(flags, io), nexVersion: legacyFormat(flags.nexVersion) });
    for (const w of stopped) {
      io.stdout(`stopped ${w.name} (${w.workloadId}) on node ${w.nodeId} in the namespace ${w.namespace}\n`);
    }
    return 0;
  });
}

interface CloneFlags extends ConnectionFlags {
  tag?: Record<string, string>;
  node?: string;
}

/** nexfn clone: a copy of a Nex 0.4 workload, deployed by auction to a node with the tags (or the node) given. */
async function cloneCommand(workloadId: string, flags: CloneFlags, io: CliIo): Promise<number> {
  return withNats(flags, async (nc, profile) => {
    const copy = await cloneWorkload04(nc, workloadId, { namespace: flags.namespace, tags: flags.tag, nodeName: flags.node, inboxPrefix: profile.inboxPrefix, onProgress: (line) => io.stderr(`${line}\n`) });
    io.stdout(`cloned ${copy.name} (${workloadId}) as workload ${copy.id} in the namespace ${flags.namespace}\n`);
    return 0;
  });
}

interface LameDuckFlags extends ConnectionFlags {
  delay?: string;
  nexVersion?: NexVersionFlag;
}

/**
 * nexfn lameduck: a node (id or name) in lame duck mode. A Nex 0.4 node takes the delay; a 0.2/0.3
 * node takes none. The generation is the one the node answers in (--nex-version forces it).
 */
async function lameDuckCommand(node: string, flags: LameDuckFlags, io: CliIo): Promise<number> {
  return withNats(flags, async (nc, profile) => {
    let generation = flags.nexVersion === undefined ? undefined : flags.nexVersion === '0.4' ? '0.4' : '0.2/0.3';
    let legacyId: string | undefined;
    if (generation === undefined) {
      const [legacy, nodes04] = await Promise.all([new NexControlClient(nc, profile.inboxPrefix).ping(DISCOVERY_WINDOW_MS), new Nex04Client(nc, profile.inboxPrefix).discover(DISCOVERY_WINDOW_MS)]);
      const legacyNode = legacy.flatMap((a) => (a.ok ? [a.value] : [])).find((n) => n.node_id === node || n.tags?.node_name === node);
      if (nodes04.nodes.some((n) => n.node_id === node || n.tags?.[NODE_NAME_TAG] === node)) {
        generation = '0.4';
      } else if (legacyNode) {
        generation = '0.2/0.3';
        legacyId = legacyNode.node_id;
      } else {
        const known = [...nodes04.nodes.map((n) => `${n.tags?.[NODE_NAME_TAG] ?? n.node_id} (${n.node_id}, Nex ${n.version})`), ...legacy.flatMap((a) => (a.ok ? [`${a.value.tags?.node_name ?? a.value.node_id} (${a.value.node_id}, Nex ${a.value.version})`] : []))];
        throw new Error(`no Nex node has the id or name "${node}"${known.length > 0 ? `; the nodes that answer: ${known.join(', ')}` : ': no node answers on this connection'}`);
      }
    }
    if (generation === '0.4') {
      const message = await lameDuck04(nc, node, flags.delay ?? '30s', { inboxPrefix: profile.inboxPrefix });
      io.stdout(`${node}: ${message}\n`);
      return 0;
    }
    if (flags.delay !== undefined) {
      io.stderr('note: a Nex 0.2/0.3 node takes no lame duck delay: --delay is not sent\n');
    }
    const reply = await new NexControlClient(nc, profile.inboxPrefix).lameDuck(legacyId ?? node);
    if (!reply.success) {
      io.stdout(`${node}: the node did not enter lame duck mode\n`);
      return 1;
    }
    io.stdout(`${node}: node ${reply.node_id} entered lame duck mode: it takes no new workloads\n`);
    return 0;
  });
}

interface TriggerFlags extends ConnectionFlags {
  payload?: string;
  payloadFile?: string;
  timeout?: number;
}

/** The payload from --payload or --payload-file (a file, or "-" for stdin). */
function triggerPayload(flags: TriggerFlags): Uint8Array {
  if (flags.payload !== undefined && flags.payloadFile !== undefined) {
    throw new CommandLineError('give either --payload or --payload-file, not both');
  }
  if (flags.payloadFile === undefined) {
    return utf8(flags.payload ?? '');
  }
  try {
    return new Uint8Array(fs.readFileSync(flags.payloadFile === '-' ? 0 : flags.payloadFile));
  } catch (e) {
    throw new CommandLineError(`--payload-file ${flags.payloadFile}: ${(e as Error).message}`);
  }
}

async function triggerCommand(subject: string, flags: TriggerFlags, io: CliIo): Promise<number> {
  const payload = triggerPayload(flags);
  return withNats(flags, async (nc) => {
    // The namespace's function_exec_failed events end the wait as soon as the node reports the failure (a 0.4 function's reply says it).
    const result = await triggerFunction(nc, subject, payload, { timeoutMs: flags.timeout, namespace: flags.namespace });
    io.stdout(result.reply);
    // A Nex 0.4 function's reply names its workload (its workload_id header): which instance answered.
    const from = result.workloadId ? ` (workload ${result.workloadId}${result.namespace ? ` in the namespace ${result.namespace}` : ''})` : '';
    io.stderr(`reply from ${subject}${from}: ${result.size} bytes in ${formatMs(result.roundTripMs)}\n`);
    for (const hint of remoteReplyHints(result.reply)) {
      io.stderr(`hint: ${hint.message}\n`);
    }
    return 0;
  });
}

/** A log line as `logs` prints it: time, level, (the workload when several are followed,) text. */
function formatLogLine(line: WorkloadLogLine, several: boolean): string {
  return `${clock()} ${line.level.toUpperCase().padEnd(5)} ${several ? `${line.workloadId} ` : ''}${line.text.replace(/\n$/, '')}\n`;
}

/** What --nex-version of logs and events takes: which generation's feeds to follow (default both). */
interface FollowFlags extends ConnectionFlags {
  nexVersion?: NexVersionFlag;
}

const followVersionOption = () =>
  new Option('--nex-version <version>', "only one generation's nodes: 0.2 or 0.3 ($NEX.logs, $NEX.events), 0.4 (Nex 0.4's $NEX.FEED); default: both").choices(['0.2', '0.3', '0.4']);

/** The generation --nex-version names, if any. */
const generationOf = (flag: NexVersionFlag | undefined): '0.2/0.3' | '0.4' | undefined => (flag === undefined ? undefined : flag === '0.4' ? '0.4' : '0.2/0.3');

async function logsCommand(nameOrId: string, flags: FollowFlags & { node?: string }, io: CliIo): Promise<number> {
  return withNats(flags, async (nc, profile) => {
    const namespace = flags.namespace;
    // One follower by name: the workloads running now, and the ones later deploys of that name start.
    let several = false;
    const follower = await followFunctionLogs(nc, {
      namespace,
      name: nameOrId,
      nodeId: flags.node,
      client: new NexControlClient(nc, profile.inboxPrefix),
      generation: generationOf(flags.nexVersion),
      onLine: (line) => io.stdout(formatLogLine(line, several)),
      onRedeployed: (w, name) => {
        several = true;
        io.stderr(`${clock()} ${name} redeployed as ${w.workloadId} on node ${w.nodeId}\n`);
      },
    });
    if (follower.initial.length === 0) {
      follower.stop();
      throw new Error(`no workload named "${nameOrId}" or with that id runs in the namespace "${namespace}"${flags.node ? ` on node ${flags.node}` : ''}`);
    }
    several ||= follower.initial.length > 1;
    io.stderr(`following the logs of ${follower.initial.map((w) => `${w.name} (${w.workloadId})`).join(', ')} in the namespace ${namespace}, and of its next deploys; Ctrl-C stops\n`);
    await stopSignal(io).stopped;
    follower.stop();
    return 0;
  });
}

/** An event as `events` prints it: time, type, namespace, source, then its data as JSON. */
function formatEvent(event: NexEvent): string {
  return `${clock()} ${event.type} ${event.namespace} ${event.source} ${JSON.stringify(event.data)}\n`;
}

async function eventsCommand(flags: FollowFlags, io: CliIo): Promise<number> {
  return withNats(flags, async (nc) => {
    const generation = generationOf(flags.nexVersion);
    const events = await watchEvents(nc, { namespace: flags.namespace, nex02: generation !== '0.4', nex04: generation !== '0.2/0.3', onEvent: (event) => io.stdout(formatEvent(event)) });
    io.stderr(`following the events of the namespace ${flags.namespace}${flags.namespace === 'system' ? '' : ' and of system'}; Ctrl-C stops\n`);
    await stopSignal(io).stopped;
    events.stop();
    return 0;
  });
}

interface RecordFlags extends ConnectionFlags {
  count?: number;
  seconds?: number;
  out: string;
}

async function recordCommand(subject: string, flags: RecordFlags, io: CliIo): Promise<number> {
  if (!flags.count && !flags.seconds) {
    throw new CommandLineError('say when recording ends: --count N, --seconds S, or both');
  }
  try {
    checkCaseFile(path.resolve(flags.out));
  } catch (e) {
    throw new CommandLineError(`--out: ${(e as Error).message}`);
  }
  const ends = [flags.count && `${flags.count} messages`, flags.seconds && `${flags.seconds} s`].filter(Boolean).join(' or ');
  return withNats(flags, async (nc) => {
    const interrupt = stopSignal(io);
    const recording = await recordSubject(nc, subject, {
      count: flags.count,
      seconds: flags.seconds,
      until: interrupt.stopped,
      onReady: () => io.stderr(`recording ${subject} until ${ends} (Ctrl-C ends it early)…\n`),
      onMessage: (m) => io.stderr(`  ${m.subject}: ${m.payload.length} bytes${m.replySubject ? ' (a request)' : ''}\n`),
    }).finally(() => interrupt.release());
    if (recording.replyCaptureProblem) {
      io.stderr(`replies were not recorded: ${recording.replyCaptureProblem}\n`);
    }
    if (recording.messages.length === 0) {
      io.stderr(`no message on ${subject}: ${flags.out} was left as it is\n`);
      return 1;
    }
    const added = writeRecordedCases(path.resolve(flags.out), recording.messages);
    const withReply = recording.messages.filter((m) => m.reply).length;
    io.stdout(`added ${added.length} trigger case(s) to ${flags.out} (${withReply} with the reply they got): ${added.join(', ')}\n`);
    return 0;
  });
}

/** Adds the commands to the program; `setExitCode` sets nexfn's exit code. */
export function registerDeployCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  /**
   * Runs a command and sets the exit code. Errors become one line on stderr (no stack): exit code 2
   * for a command-line mistake or a function folder with problems, else 1.
   */
  const run = async (command: string, handler: () => Promise<number>): Promise<void> => {
    try {
      setExitCode(await handler());
    } catch (e) {
      io.stderr(`nexfn ${command}: ${(e as Error).message}\n`);
      setExitCode(e instanceof CommandLineError || e instanceof ProblemError ? 2 : 1);
    }
  };

  withConnectionFlags(program.command('deploy'))
    .description('deploy a function to a Nex node (Nex 0.4 by auction to the functions nexlet when only 0.4 nodes answer, or with --nex-version 0.4); running workloads of the same name are replaced')
    .argument('<function>', `a function folder (holding ${MANIFEST_FILE}) or its manifest`)
    .option('--node <id>', "the node to deploy to, by id (on Nex 0.4 also by name) (default: the node that answers the auction for the function's type)")
    .option('--tag <name=value>', "only nodes with this tag take part in the auction (repeatable; added to the manifest's deploy.tags)", tagOption)
    .option('--instances <n>', `Nex 0.4: how many instances to start, sharing the triggers (default: the manifest's deploy.instances, else 1; at most ${MAX_DEPLOY_INSTANCES})`, positiveNumber('--instances', true))
    .option('--dry-run', 'show what would be sent and send nothing (0.2/0.3: environment values hidden; 0.4: the ADEPLOY body, the environment sealed)')
    .addOption(keysOption())
    .addOption(nexVersionOption())
    .action((target: string, flags: DeployFlags) => run('deploy', () => deployCommand(target, flags, io)));

  withConnectionFlags(program.command('nexfile'))
    .description("write a Nex 0.4 Nexfile for the function (JSON on stdout), its artifact uploaded, for nex workload start -f on the functions nexlet")
    .argument('<function>', 'a function folder or its nexfunction.json')
    .action((target: string, flags: ConnectionFlags) => run('nexfile', () => nexfileCommand(target, flags, io)));

  withConnectionFlags(program.command('stop'))
    .description('stop the deployed workloads of a name (or the workload of an id): UNDEPLOY on Nex 0.4, a stop signed with the deploy\'s issuer key on 0.2/0.3')
    .argument('<workload>', 'a workload name or workload id')
    .option('--node <id>', 'only on this node (0.2/0.3)')
    .addOption(keysOption())
    .addOption(nexVersionOption())
    .action((nameOrId: string, flags: StopFlags) => run('stop', () => stopCommand(nameOrId, flags, io)));

  withConnectionFlags(program.command('clone'))
    .description('copy a Nex 0.4 workload to a node with the tags given (or the node named), by auction, CLONE and ADEPLOY; its environment is sealed again to the new nexlet')
    .argument('<workload>', 'the workload id')
    .option('--tag <name=value>', 'only nodes with this tag take part in the auction (repeatable); the copy carries these tags', tagOption)
    .option('--node <name>', 'the node to copy it to, by name (the tag nex.node) or id')
    .action((workloadId: string, flags: CloneFlags) => run('clone', () => cloneCommand(workloadId, flags, io)));

  withConnectionFlags(program.command('lameduck'))
    .description('put a node in lame duck mode: it takes no new workloads, and a Nex 0.4 node stops after the delay')
    .argument('<node>', 'the node id or name')
    .option('--delay <duration>', 'Nex 0.4: how long until the node stops, a Go duration such as 30s or 2m (default: 30s)')
    .addOption(nexVersionOption())
    .action((node: string, flags: LameDuckFlags) => run('lameduck', () => lameDuckCommand(node, flags, io)));

  withConnectionFlags(program.command('trigger'))
    .description('send a request to a subject, as a client of a deployed function does: the reply on stdout, its timing on stderr')
    .argument('<subject>', 'a concrete subject')
    .option('-p, --payload <text>', 'the payload, as text (default: empty)')
    .option('--payload-file <file>', 'read the payload bytes from a file ("-" for stdin)')
    .option('--timeout <ms>', 'how long to wait for the reply (default: 10000, what a node waits for a function)', positiveNumber('--timeout', true))
    .action((subject: string, flags: TriggerFlags) => run('trigger', () => triggerCommand(subject, flags, io)));

  withConnectionFlags(program.command('logs'))
    .description("follow a deployed workload's logs until Ctrl-C")
    .argument('<workload>', 'a workload name or workload id')
    .option('--node <id>', 'only on this node')
    .addOption(followVersionOption())
    .action((nameOrId: string, flags: FollowFlags & { node?: string }) => run('logs', () => logsCommand(nameOrId, flags, io)));

  withConnectionFlags(program.command('events'))
    .description("follow the nodes' events (the namespace's and the system's; Nex 0.4's feeds too) until Ctrl-C")
    .addOption(followVersionOption())
    .action((flags: FollowFlags) => run('events', () => eventsCommand(flags, io)));

  withConnectionFlags(program.command('record'))
    .description('record the messages on a subject as trigger cases, with the replies they get (requests whose reply subject starts with _INBOX.)')
    .argument('<subject>', 'the subject to record (wildcards allowed)')
    .option('--count <n>', 'stop after this many messages', positiveNumber('--count', true))
    .option('--seconds <s>', 'stop after this many seconds', positiveNumber('--seconds', false))
    .requiredOption('--out <file>', 'the trigger case file to add the cases to (created when missing), e.g. triggers/recorded.json')
    .action((subject: string, flags: RecordFlags) => run('record', () => recordCommand(subject, flags, io)));
}
