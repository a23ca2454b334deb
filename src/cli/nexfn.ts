/**
 * nexfn: the headless face of the extension's core. `nexfn run` runs a function exactly as the
 * editor's "Nex: Run Function…" does: the reply on stdout, everything else on stderr.
 * Exit codes: 0 success, 1 the function failed, 2 the command could not run it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { COMPAT_PROFILES, CompatProfile, JS_ENGINES, JsEngine } from '../core/compat';
import { utf8 } from '../core/bytes';
import { MANIFEST_FILE } from '../core/manifest';
import { formatProblem, ProblemError } from '../core/problems';
import { BuildFailedError, buildFunction } from '../toolchain/buildRunner';
import { concreteSubjectProblem, DEFAULT_NAMESPACE, triggerSubjectProblem } from '../core/subject';
import { functionNameProblem, isTemplateKind, planNewFunction, TEMPLATE_KINDS, writeFunctionPlan } from '../templates/functionTemplates';
import { positiveInt } from './numberOptions';
import { testCommand, validateCommand } from './testCommands';
import { defaultNodeStateDir, nodeCommand, NodeCommandOptions } from './nodeCommand';
import { registerNodesCommands } from './nodesCommands';
import { registerDeployCommands } from './deployCommands';
import { registerNexletCommand } from './nexletCommand';
import type { CliIo } from './cliIo';
import { type ConnectionFlags, withConnectionFlags } from './connectionFlags';
import { EMULATED_VERSIONS } from '../devnode/nodeConfig';
import { formatMs, formatRunReport } from '../run/runReport';
import { freshMocks, runFunction, RunSink } from '../run/functionRun';
import { NotAFunctionError, ResolvedFunction, resolveFunction } from '../run/resolveFunction';
import { WorkerExecutor } from '../executor/workerExecutor';
import { DEFAULT_LIMITS } from '../executor/types';

declare const NEX_FUNCTIONS_VERSION: string | undefined;
const VERSION = typeof NEX_FUNCTIONS_VERSION === 'string' ? NEX_FUNCTIONS_VERSION : 'dev';


const processIo: CliIo = {
  stdout: (chunk) => process.stdout.write(chunk),
  stderr: (text) => process.stderr.write(text),
};

class UsageError extends Error {}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('nexfn')
    .description('Run and test NATS Nex functions locally, as the Nex Functions VS Code extension does.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

  program
    .command('run')
    .description('run a function once and print its reply')
    .argument('<function>', `a function folder (holding ${MANIFEST_FILE}), its manifest or source, or a bare .js or .wasm file`)
    .requiredOption('-s, --subject <subject>', 'the concrete subject that triggers the function')
    .option('-p, --payload <text>', 'the payload, as text (default: empty)')
    .option('--payload-file <file>', 'read the payload bytes from a file ("-" for stdin)')
    .option('--timeout <ms>', `time limit in milliseconds (default: the manifest's limits.timeoutMs, else ${DEFAULT_LIMITS.timeoutMs})`, positiveInt('--timeout'))
    .option('--memory <MiB>', `memory limit in MiB (default: the manifest's limits.memoryMiB, else ${DEFAULT_LIMITS.memoryLimitBytes / 1048576})`, positiveInt('--memory'))
    .addOption(new Option('--compat <profile>', 'behave as the documented contract or as a Nex 0.2/0.3 node (default: the manifest\'s "compat", else docs)').choices([...COMPAT_PROFILES]))
    .addOption(new Option('--engine <engine>', 'the JavaScript engine: QuickJS in a worker, or V8 in a child process as nodes run it (default: the manifest\'s "engine", else quickjs)').choices([...JS_ENGINES]))
    .option('--mocks <file>', 'host-service fixture (JSON) to seed the mocks with, instead of the manifest\'s "mocks"')
    .option('--no-build', 'run the WebAssembly artifact as it is, without building it first')
    .option('--json', 'print the whole result as JSON on stdout instead of the raw reply')
    .action(async (target: string, opts: RunCommandOptions) => {
      exitCode = await runCommand(target, opts, io);
    });

  program
    .command('build')
    .description("build a WebAssembly function with its manifest's build command (always, even when up to date)")
    .argument('<function>', `a function folder (holding ${MANIFEST_FILE}) or its manifest`)
    .action(async (target: string) => {
      const { fn: def } = loadTarget(target);
      if (def.bare || !def.manifest.build) {
        throw new UsageError(`${def.manifest.name} has no "build" in ${def.manifestPath}: nothing to build`);
      }
      const result = await buildFunction(def, { onOutput: (line) => io.stderr(`${line}\n`) });
      for (const p of result.problems) {
        io.stderr(`${formatProblem(p)}\n`);
      }
      if (!result.ok) {
        io.stderr(`nexfn: ${new BuildFailedError(def.manifest.name, result).message}\n`);
        exitCode = 1;
      } else {
        io.stderr(`built ${def.artifactPath} in ${formatMs(result.durationMs)}\n`);
      }
    });

  program
    .command('new')
    .description('create a function folder from a template')
    .argument('<kind>', `the template: ${TEMPLATE_KINDS.join(', ')}`)
    .argument('<dir>', 'the folder to create (it may exist, but none of the files may)')
    .option('-n, --name <name>', 'the workload name (default: the folder name)')
    .option('-s, --subject <subject>', 'the trigger subject (default: <name>.>)')
    .action((kind: string, dir: string, opts: { name?: string; subject?: string }) => {
      if (!isTemplateKind(kind)) {
        throw new UsageError(`"${kind}" is not a template: use one of ${TEMPLATE_KINDS.join(', ')}`);
      }
      const target = path.resolve(dir);
      const name = opts.name ?? path.basename(target);
      const nameProblem = functionNameProblem(name);
      if (nameProblem) {
        throw new UsageError(`name "${name}": ${nameProblem}${opts.name ? '' : ' (the name comes from the folder; pass --name)'}`);
      }
      const subject = opts.subject ?? `${name}.>`;
      const subjectProblem = triggerSubjectProblem(subject);
      if (subjectProblem) {
        throw new UsageError(`--subject "${subject}": ${subjectProblem}`);
      }
      const plan = planNewFunction(kind, target, { name, subject });
      try {
        writeFunctionPlan(plan);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      for (const f of plan.files) {
        io.stdout(`created ${path.relative(process.cwd(), f.path)}\n`);
      }
      io.stdout(`run it: nexfn test ${path.relative(process.cwd(), target) || '.'}\n`);
    });

  program
    .command('validate')
    .description('check manifests and trigger files, with the same messages as the editor')
    .argument('[paths...]', 'function folders, or folders holding functions (default: .)')
    .action((paths: string[]) => {
      exitCode = validateCommand(paths, { stdout: (t) => io.stdout(t), stderr: io.stderr });
    });

  program
    .command('node')
    .description('run a local Nex node in the foreground: the Nex control API on NATS, functions run by this project\'s executors')
    .option('--nats <urls>', 'attach to this NATS server (comma-separated URLs) instead of starting one')
    .option('--start-nats', 'start a private nats-server with JetStream (the default without --nats or --context)')
    .option('--context <name>', 'attach with a nats CLI context')
    .option('--creds <file>', 'with --nats: a creds file')
    .option('--nkey <file>', 'with --nats: an nkey seed file')
    .option('--user <user>', 'with --nats: a user (the password from $NATS_PASSWORD)')
    .option('--namespace <ns>', 'the namespace the printed hints use', DEFAULT_NAMESPACE)
    .addOption(new Option('--emulate <version>', 'the Nex version to behave as').choices([...EMULATED_VERSIONS]).default('0.2.7'))
    .option('--state <dir>', `where the node keeps its identity and data (default: ${defaultNodeStateDir()})`)
    .option('--valid-issuer <key>', 'with --nats/--context: also accept deploys signed by this issuer (repeatable; your own issuer key is always accepted)', (key: string, all: string[]) => [...all, key], [] as string[])
    .option('--keys <dir>', 'the folder of your deploy keys, whose issuer the node accepts when attached (default: $NEX_KEYS_DIR, else ~/.nex)')
    .action(async (opts: NodeCommandOptions) => {
      try {
        exitCode = await nodeCommand(opts, { stdout: (t) => io.stdout(t), stderr: io.stderr, untilStopped: io.untilStopped });
      } catch (e) {
        // Missing nats-server, unreachable or refused NATS, a bad context: the message says what to do.
        io.stderr(`nexfn node: ${(e as Error).message}\n`);
        exitCode = 1;
      }
    });

  registerNodesCommands(program, io, (code) => (exitCode = code));
  registerDeployCommands(program, io, (code) => (exitCode = code));
  registerNexletCommand(program, io, (code) => (exitCode = code), VERSION);

  withConnectionFlags(program.command('test'))
    .description("run the functions' trigger cases (triggers/*.json) and check their expectations")
    .argument('[paths...]', 'function folders, or folders holding functions (default: .)')
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option('--timeout <ms>', 'time limit per case in milliseconds (with --remote: how long to wait for each reply, default 10000)', positiveInt('--timeout'))
    .option('--remote', 'send the cases to the deployed functions (the connection flags say where) instead of running them here; logs, host calls and KV are not checked there')
    .action(async (paths: string[], opts: ConnectionFlags & { junit?: string; timeout?: number; remote?: boolean }) => {
      exitCode = await testCommand(paths, { junit: opts.junit, timeoutMs: opts.timeout, remote: opts.remote ? opts : undefined }, { stdout: (t) => io.stdout(t), stderr: io.stderr });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return 0;
    }
    if (typeof err.exitCode === 'number' && err.code?.startsWith('commander.')) {
      return 2; // commander already printed the message
    }
    if (e instanceof UsageError || e instanceof ProblemError || (e as Error).message?.endsWith(': no such file or folder')) {
      io.stderr(`nexfn: ${(e as Error).message}\n`);
      return 2;
    }
    io.stderr(`nexfn: ${(e as Error).stack ?? String(e)}\n`);
    return 2;
  }
  return exitCode;
}

interface RunCommandOptions {
  subject: string;
  payload?: string;
  payloadFile?: string;
  timeout?: number;
  memory?: number;
  compat?: CompatProfile;
  engine?: JsEngine;
  mocks?: string;
  build: boolean;
  json?: boolean;
}

/** The function a user points at, loaded and checked; throws a usage or problem error. */
function loadTarget(target: string, compat?: CompatProfile): ResolvedFunction {
  try {
    return resolveFunction(target, { compat });
  } catch (e) {
    if (e instanceof NotAFunctionError) {
      throw new UsageError(e.message);
    }
    throw e;
  }
}

/** Build output and compiler problems go to stderr, as the build goes. */
function stderrSink(io: CliIo): RunSink {
  return {
    buildOutput: (line) => io.stderr(`  ${line}\n`),
    buildFinished: (_fn, result) => result.problems.forEach((p) => io.stderr(`${formatProblem(p)}\n`)),
  };
}

async function runCommand(target: string, opts: RunCommandOptions, io: CliIo): Promise<number> {
  const subjectProblem = concreteSubjectProblem(opts.subject);
  if (subjectProblem) {
    throw new UsageError(`--subject "${opts.subject}": ${subjectProblem}`);
  }
  if (opts.payload !== undefined && opts.payloadFile !== undefined) {
    throw new UsageError('give either --payload or --payload-file, not both');
  }
  const { fn, notice } = loadTarget(target, opts.compat);
  if (notice) {
    io.stderr(`${notice}\n`);
  }
  let payload: Uint8Array = utf8(opts.payload ?? '');
  if (opts.payloadFile !== undefined) {
    try {
      payload = new Uint8Array(fs.readFileSync(opts.payloadFile === '-' ? 0 : opts.payloadFile));
    } catch (e) {
      throw new UsageError(`--payload-file ${opts.payloadFile}: ${(e as Error).message}`);
    }
  }
  const runner = new WorkerExecutor();
  try {
    const hostServices = opts.mocks !== undefined && fn.manifest.type === 'v8' ? freshMocks(fn, { fromFile: path.resolve(opts.mocks) }) : undefined;
    let result;
    try {
      result = await runFunction(
        runner,
        fn,
        {
          subject: opts.subject,
          payload,
          limits: {
            overrides: {
              timeoutMs: opts.timeout,
              memoryLimitBytes: opts.memory !== undefined ? opts.memory * 1048576 : undefined,
            },
          },
          compat: opts.compat,
          engine: opts.engine,
          hostServices,
          build: opts.build,
        },
        stderrSink(io),
      );
    } catch (e) {
      if (e instanceof BuildFailedError) {
        io.stderr(`nexfn: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    for (const line of formatRunReport(result)) {
      io.stderr(line.text + '\n');
    }
    if (opts.json) {
      const o = result.outcome;
      io.stdout(
        JSON.stringify(
          {
            function: result.functionName,
            subject: result.subject,
            profile: o.profile,
            ok: o.ok,
            reply: o.reply === null ? null : Buffer.from(o.reply).toString('base64'),
            logs: o.logs,
            hostCalls: o.hostCalls,
            warnings: o.warnings,
            durationMs: o.durationMs,
            error: o.error ?? null,
          },
          null,
          2,
        ) + '\n',
      );
    } else if (result.outcome.reply) {
      io.stdout(result.outcome.reply);
    }
    return result.outcome.ok ? 0 : 1;
  } finally {
    runner.dispose();
  }
}
