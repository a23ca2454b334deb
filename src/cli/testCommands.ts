/**
 * nexfn validate and nexfn test: the same checks and runs as the editor, for CI. `nexfn test
 * --remote` sends the cases to the deployed functions instead (the connection flags say where).
 */
import * as fs from 'fs';
import * as path from 'path';
import { functionDirFor, isValid, loadFunction, ValidFunction } from '../core/manifest';
import { formatProblem, FileProblem } from '../core/problems';
import { findFunctionDirs } from '../core/workspaceScan';
import { plural } from '../core/bytes';
import { BuildFailedError } from '../toolchain/buildRunner';
import { RunSink } from '../run/functionRun';
import { formatCaseResults, caseSummary } from '../triggers/caseReport';
import { WorkerExecutor } from '../executor/workerExecutor';
import { CaseResult, RemoteCaseTargets, runTriggerCase, runTriggerCaseRemote, skippedCase } from '../triggers/caseRunner';
import { DeployedModel, deployedFunctions, type DeployedTriggers } from '../explorer/deployedModel';
import { NexControlClient } from '../nex/controlClient';
import { loadTriggerFiles, TriggerCase, TriggerFile } from '../triggers/triggerCases';
import { ConnectionFlags, connectFromFlags, defaultNamespace } from './connectionFlags';
import type { NatsConnection } from '@nats-io/nats-core';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The function folders the paths name: a function folder, a file inside one, or a tree holding several. */
export function functionsIn(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths.length ? paths : ['.']) {
    const resolved = path.resolve(p);
    if (!fs.existsSync(resolved)) {
      throw new Error(`${p}: no such file or folder`);
    }
    const own = functionDirFor(resolved);
    const found = own && (fs.statSync(resolved).isFile() || own === resolved) ? [own] : findFunctionDirs(resolved);
    found.forEach((d) => dirs.add(d));
  }
  return [...dirs].sort();
}

export function validateCommand(paths: string[], io: Io): number {
  const dirs = functionsIn(paths);
  const problems: FileProblem[] = [];
  let files = 0;
  for (const dir of dirs) {
    const def = loadFunction(dir);
    problems.push(...def.problems);
    if (def.manifest) {
      const triggerFiles = loadTriggerFiles(def);
      files += triggerFiles.length;
      triggerFiles.forEach((f) => problems.push(...f.problems));
    }
  }
  for (const p of problems) {
    io.stdout(`${formatProblem(p)}\n`);
  }
  io.stdout(`${plural(dirs.length, 'function')}, ${plural(files, 'trigger file')}: ${problems.length === 0 ? 'no problems' : plural(problems.length, 'problem')}\n`);
  return problems.length === 0 && dirs.length > 0 ? 0 : 1;
}

export interface TestCommandOptions {
  junit?: string;
  /** Per case: the time limit of a local run, or how long to wait for a deployed function's reply. */
  timeoutMs?: number;
  /** Run the cases against the deployed functions over this connection instead of locally. */
  remote?: ConnectionFlags;
}

export async function testCommand(paths: string[], options: TestCommandOptions, io: Io): Promise<number> {
  const dirs = functionsIn(paths);
  const results: Array<{ def: ValidFunction; file: string; result: CaseResult }> = [];
  const problems: FileProblem[] = [];
  const started = performance.now();
  const fileLabel = (file: string) => path.relative(process.cwd(), file);
  /** Runs one case; undefined when the function's build failed (its other cases cannot run either). */
  let runCase: (def: ValidFunction, tc: TriggerCase) => Promise<CaseResult | undefined>;
  let close: () => Promise<void>;
  if (options.remote) {
    let nc: NatsConnection;
    let inboxPrefix: string | undefined;
    try {
      ({ nc, profile: { inboxPrefix } } = await connectFromFlags(options.remote));
    } catch (e) {
      // An unreachable server or refused credentials: the message says what to fix.
      io.stderr(`nexfn test --remote: ${(e as Error).message}\n`);
      return 1;
    }
    io.stderr(`running the trigger cases against the deployed functions on ${nc.getServer()}\n`);
    const flags = options.remote;
    // The deployed workloads of each namespace with the triggers they were deployed with (their deploy records), read once.
    const servedIn = new Map<string, Promise<DeployedTriggers[]>>();
    const deployedIn = (namespace: string) => {
      let served = servedIn.get(namespace);
      if (!served) {
        const model = new DeployedModel({ nc, namespace, inboxPrefix, jsDomain: flags.jsdomain });
        served = model.refresh().then(deployedFunctions).finally(() => model.dispose());
        servedIn.set(namespace, served);
      }
      return served;
    };
    // As deploy does: an explicit --namespace wins, the default gives way to the manifest's deploy.namespace.
    const namespaceOf = (def: ValidFunction) => (flags.namespace && flags.namespace !== defaultNamespace() ? flags.namespace : (def.manifest.deploy?.namespace ?? flags.namespace ?? defaultNamespace()));
    const targets = new RemoteCaseTargets(new NexControlClient(nc, inboxPrefix), namespaceOf, deployedIn);
    runCase = async (def, tc) => {
      const target = await targets.of(def, tc.subject);
      if ('skip' in target) {
        return skippedCase(tc, target.skip);
      }
      return runTriggerCaseRemote(nc, tc, { timeoutMs: options.timeoutMs, namespace: target.namespace, workloadName: def.manifest.name, nodeVersion: target.nodeVersion });
    };
    close = () => nc.close().catch(() => undefined);
  } else {
    const runner = new WorkerExecutor();
    runCase = async (def, tc) => {
      const sink: RunSink = {
        buildOutput: (line) => io.stderr(`  ${line}\n`),
        buildFinished: (_fn, result) => problems.push(...result.problems),
      };
      try {
        return await runTriggerCase(runner, def, tc, { limits: { overrides: { timeoutMs: options.timeoutMs } }, sink });
      } catch (e) {
        if (!(e instanceof BuildFailedError)) {
          throw e;
        }
        problems.push({ file: def.manifestPath, message: e.message });
        return undefined;
      }
    };
    close = async () => runner.dispose();
  }
  try {
    for (const dir of dirs) {
      const def = loadFunction(dir);
      if (!isValid(def)) {
        problems.push(...def.problems);
        continue;
      }
      const triggerFiles: TriggerFile[] = loadTriggerFiles(def);
      triggerFiles.forEach((f) => problems.push(...f.problems));
      const cases = triggerFiles.flatMap((f) => f.cases);
      if (cases.length === 0) {
        continue;
      }
      io.stdout(`${def.manifest.name} (${path.relative(process.cwd(), dir) || '.'})\n`);
      for (const tc of cases) {
        const result = await runCase(def, tc);
        if (!result) {
          break; // the function's other cases cannot run either
        }
        results.push({ def, file: tc.file, result });
        for (const line of formatCaseResults([result], { fileLabel })) {
          io.stdout(`${line.text}\n`);
        }
      }
    }
  } finally {
    await close();
  }
  for (const p of problems) {
    io.stdout(`${formatProblem(p)}\n`);
  }
  const summary = caseSummary(results.map((r) => r.result));
  if (options.junit) {
    fs.mkdirSync(path.dirname(path.resolve(options.junit)), { recursive: true });
    fs.writeFileSync(options.junit, junitXml(results, problems, performance.now() - started));
  }
  io.stdout(`${summary.text}${problems.length ? `, ${plural(problems.length, 'problem')}` : ''}\n`);
  return summary.failed === 0 && problems.length === 0 ? 0 : 1;
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
}

function junitXml(results: Array<{ def: ValidFunction; file: string; result: CaseResult }>, problems: FileProblem[], totalMs: number): string {
  const suites = new Map<string, typeof results>();
  for (const r of results) {
    const key = `${r.def.manifest.name}/${path.basename(r.file)}`;
    suites.set(key, [...(suites.get(key) ?? []), r]);
  }
  const failed = (list: typeof results) => list.filter((r) => r.result.status === 'failed').length;
  const skipped = (list: typeof results) => list.filter((r) => r.result.status === 'skipped').length;
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="nexfn test" tests="${results.length}" failures="${failed(results)}" errors="${problems.length}" skipped="${skipped(results)}" time="${(totalMs / 1000).toFixed(3)}">`];
  for (const [name, list] of suites) {
    out.push(`  <testsuite name="${xml(name)}" tests="${list.length}" failures="${failed(list)}" skipped="${skipped(list)}" time="${(list.reduce((t, r) => t + r.result.durationMs, 0) / 1000).toFixed(3)}">`);
    for (const { result } of list) {
      out.push(`    <testcase classname="${xml(name)}" name="${xml(result.case.name)}" file="${xml(result.case.file)}" line="${result.case.line}" time="${(result.durationMs / 1000).toFixed(3)}">`);
      if (result.status === 'skipped') {
        out.push(`      <skipped message="${xml(result.skipReason ?? 'skipped')}"/>`);
      } else if (result.status !== 'passed') {
        const details = [...result.failures, ...(result.expected !== undefined ? [`expected: ${result.expected}`, `actual: ${result.actual}`] : [])].join('\n');
        out.push(`      <failure message="${xml(result.failures[0] ?? 'failed')}">${xml(details)}</failure>`);
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (problems.length > 0) {
    out.push(`  <testsuite name="problems" tests="${problems.length}" failures="0" errors="${problems.length}">`);
    for (const p of problems) {
      out.push(`    <testcase classname="problems" name="${xml(path.basename(p.file))}${p.line ? `:${p.line}` : ''}"><error message="${xml(formatProblem(p))}"/></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
