/**
 * nexfn deploy, stop, trigger, logs, events and record: deployed functions on Nex nodes, with the
 * `nex` CLI's connection flags. Results go to stdout, progress and timings to stderr. Nothing
 * prompts: missing keys are created and a line says so. logs and events run until Ctrl-C.
 * Exit codes: 0 done, 1 it failed (no node, a refusal, no reply…), 2 the command was wrong.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import type { NatsConnection } from '@nats-io/nats-core';
import { utf8 } from '../core/bytes';
import { entryPath, functionDirFor, loadValidFunction, MANIFEST_FILE, type ValidFunction } from '../core/manifest';
import { ProblemError } from '../core/problems';
import { deployFunction, previewDeploy, type DeployOptions } from '../deploy/deployFunction';
import { checkCaseFile, followFunctionLogs, recordSubject, remoteReplyHints, stopWorkloads, triggerFunction, watchEvents, writeRecordedCases, type NexEvent, type WorkloadLogLine } from '../deploy/deployedOps';
import { locateRefusal, NodeRefusal } from '../deploy/nodeReplies';
import { defaultKeysDir, loadPublisherKeys, type PublisherKeys } from '../deploy/publisherKeys';
import { writeNexfile } from '../deploy/nexfile';
import { FunctionRunner } from '../executor/functionRunner';
import type { ConnectionProfile } from '../nats/connection';
import { NexControlClient } from '../nex/controlClient';
import type { NexProtocolVersion } from '../nex/controlTypes';
import { formatMs } from '../run/runReport';
import { type ConnectionFlags, connectFromFlags, defaultNamespace, withConnectionFlags } from './connectionFlags';
import type { CliIo } from './cliIo';
import { stopSignal } from './stopSignal';
import { positiveNumber } from './numberOptions';

/** A mistake in the command line: exit code 2. */
class CommandLineError extends Error {}

interface KeyFlags {
  keys?: string;
  nexVersion?: NexProtocolVersion;
}

const keysOption = () => new Option('--keys <dir>', `the folder of issuer.nk and publisher.xk (default: $NEX_KEYS_DIR, else ${defaultKeysDir({})})`);
const nexVersionOption = () => new Option('--nex-version <format>', "the node's deploy format, when its version does not tell (a source build reports \"development\")").choices(['0.2', '0.3']);

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
  const runner = new FunctionRunner();
  try {
    const location = await locateRefusal(e.nodeMessage, { type: fn.manifest.type, file: entryPath(fn), compat: fn.manifest.compat }, runner);
    throw e.at(location, process.cwd());
  } finally {
    runner.dispose();
  }
}

async function deployCommand(target: string, flags: DeployFlags, io: CliIo): Promise<number> {
  const fn = loadDeployable(target);
  return withNats(flags, async (nc, profile) => {
    const options: DeployOptions = {
      // An explicit --namespace wins; the default one gives way to the manifest's deploy.namespace.
      namespace: flags.namespace === defaultNamespace() ? (fn.manifest.deploy?.namespace ?? flags.namespace) : flags.namespace,
      nodeId: flags.node,
      keysDir: flags.keys,
      jsDomain: profile.jsDomain,
      inboxPrefix: profile.inboxPrefix,
      nexVersion: flags.nexVersion,
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
    const client = new NexControlClient(nc, profile.inboxPrefix);
    const stopped = await stopWorkloads(client, nameOrId, { namespace: flags.namespace, nodeId: flags.node, keys: stopKeys(flags, io), nexVersion: flags.nexVersion });
    for (const w of stopped) {
      io.stdout(`stopped ${w.name} (${w.workloadId}) on node ${w.nodeId} in the namespace ${w.namespace}\n`);
    }
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
    // The namespace's function_exec_failed events end the wait as soon as the node reports the failure.
    const result = await triggerFunction(nc, subject, payload, { timeoutMs: flags.timeout, namespace: flags.namespace });
    io.stdout(result.reply);
    io.stderr(`reply from ${subject}: ${result.size} bytes in ${formatMs(result.roundTripMs)}\n`);
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

async function logsCommand(nameOrId: string, flags: ConnectionFlags & { node?: string }, io: CliIo): Promise<number> {
  return withNats(flags, async (nc, profile) => {
    const namespace = flags.namespace;
    // One follower by name: the workloads running now, and the ones later deploys of that name start.
    let several = false;
    const follower = await followFunctionLogs(nc, {
      namespace,
      name: nameOrId,
      nodeId: flags.node,
      client: new NexControlClient(nc, profile.inboxPrefix),
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

async function eventsCommand(flags: ConnectionFlags, io: CliIo): Promise<number> {
  return withNats(flags, async (nc) => {
    const events = await watchEvents(nc, { namespace: flags.namespace, onEvent: (event) => io.stdout(formatEvent(event)) });
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
    .description('deploy a function to a Nex node; a running workload of the same name is replaced')
    .argument('<function>', `a function folder (holding ${MANIFEST_FILE}) or its manifest`)
    .option('--node <id>', "the node to deploy to (default: the node that answers the auction for the function's type)")
    .option('--dry-run', 'show what would be sent (environment values hidden) and send nothing')
    .addOption(keysOption())
    .addOption(nexVersionOption())
    .action((target: string, flags: DeployFlags) => run('deploy', () => deployCommand(target, flags, io)));

  withConnectionFlags(program.command('nexfile'))
    .description("write a Nex 0.4 Nexfile for the function (JSON on stdout), its artifact uploaded, for nex workload start -f on the functions nexlet")
    .argument('<function>', 'a function folder or its nexfunction.json')
    .action((target: string, flags: ConnectionFlags) => run('nexfile', () => nexfileCommand(target, flags, io)));

  withConnectionFlags(program.command('stop'))
    .description('stop the deployed workloads of a name (or the workload of an id), signed with the deploy\'s issuer key')
    .argument('<workload>', 'a workload name or workload id')
    .option('--node <id>', 'only on this node')
    .addOption(keysOption())
    .addOption(nexVersionOption())
    .action((nameOrId: string, flags: StopFlags) => run('stop', () => stopCommand(nameOrId, flags, io)));

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
    .action((nameOrId: string, flags: ConnectionFlags & { node?: string }) => run('logs', () => logsCommand(nameOrId, flags, io)));

  withConnectionFlags(program.command('events'))
    .description("follow the nodes' events (the namespace's and the system's) until Ctrl-C")
    .action((flags: ConnectionFlags) => run('events', () => eventsCommand(flags, io)));

  withConnectionFlags(program.command('record'))
    .description('record the messages on a subject as trigger cases, with the replies they get (requests whose reply subject starts with _INBOX.)')
    .argument('<subject>', 'the subject to record (wildcards allowed)')
    .option('--count <n>', 'stop after this many messages', positiveNumber('--count', true))
    .option('--seconds <s>', 'stop after this many seconds', positiveNumber('--seconds', false))
    .requiredOption('--out <file>', 'the trigger case file to add the cases to (created when missing), e.g. triggers/recorded.json')
    .action((subject: string, flags: RecordFlags) => run('record', () => recordCommand(subject, flags, io)));
}
