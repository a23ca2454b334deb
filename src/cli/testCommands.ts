/** nexfn validate and nexfn test: the same checks and runs as the editor, for CI. */
import * as fs from 'fs';
import * as path from 'path';
import { FunctionDefinition, functionDirFor, loadFunction } from '../core/manifest';
import { formatProblem, FileProblem } from '../core/problems';
import { findFunctionDirs } from '../core/workspaceScan';
import { plural } from '../core/bytes';
import { BuildFailedError, buildIfNeeded } from '../toolchain/buildRunner';
import { formatMs } from '../run/runReport';
import { FunctionRunner } from '../executor/functionRunner';
import { CaseResult, runTriggerCase } from '../triggers/caseRunner';
import { loadTriggerFiles, TriggerFile } from '../triggers/triggerCases';

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

export async function testCommand(paths: string[], options: { junit?: string; timeoutMs?: number }, io: Io): Promise<number> {
  const dirs = functionsIn(paths);
  const runner = new FunctionRunner();
  const results: Array<{ def: FunctionDefinition; file: string; result: CaseResult }> = [];
  const problems: FileProblem[] = [];
  const started = performance.now();
  try {
    for (const dir of dirs) {
      const def = loadFunction(dir);
      if (def.problems.length > 0) {
        problems.push(...def.problems);
        continue;
      }
      const triggerFiles: TriggerFile[] = loadTriggerFiles(def);
      triggerFiles.forEach((f) => problems.push(...f.problems));
      const cases = triggerFiles.flatMap((f) => f.cases);
      if (cases.length === 0) {
        continue;
      }
      try {
        await buildIfNeeded(def, { onOutput: (line) => io.stderr(`  ${line}\n`) });
      } catch (e) {
        if (!(e instanceof BuildFailedError)) {
          throw e;
        }
        e.result.problems.forEach((p) => problems.push(p));
        problems.push({ file: def.manifestPath, message: e.message });
        continue;
      }
      io.stdout(`${def.manifest!.name} (${path.relative(process.cwd(), dir) || '.'})\n`);
      for (const tc of cases) {
        const result = await runTriggerCase(runner, def, tc, { limits: options.timeoutMs ? { timeoutMs: options.timeoutMs } : undefined });
        results.push({ def, file: tc.file, result });
        const label = `${path.basename(tc.file)} › ${tc.name}`;
        if (result.status === 'passed') {
          io.stdout(`  ✔ ${label} (${formatMs(result.durationMs)})\n`);
        } else {
          io.stdout(`  ✖ ${label} (${path.relative(process.cwd(), tc.file)}:${tc.line})\n`);
          for (const f of result.failures) {
            io.stdout(`      ${f}\n`);
          }
          if (result.expected !== undefined && result.actual !== undefined) {
            io.stdout(`      expected: ${indent(result.expected)}\n      actual:   ${indent(result.actual)}\n`);
          }
        }
        for (const w of result.warnings) {
          io.stdout(`      ⚠ ${w}\n`);
        }
      }
    }
  } finally {
    runner.dispose();
  }
  for (const p of problems) {
    io.stdout(`${formatProblem(p)}\n`);
  }
  const passed = results.filter((r) => r.result.status === 'passed').length;
  const failed = results.length - passed;
  if (options.junit) {
    fs.mkdirSync(path.dirname(path.resolve(options.junit)), { recursive: true });
    fs.writeFileSync(options.junit, junitXml(results, problems, performance.now() - started));
  }
  io.stdout(`${passed} passed, ${failed} failed${problems.length ? `, ${plural(problems.length, 'problem')}` : ''}\n`);
  return failed === 0 && problems.length === 0 ? 0 : 1;
}

function indent(text: string): string {
  return text.split('\n').join('\n                ');
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
}

function junitXml(results: Array<{ def: FunctionDefinition; file: string; result: CaseResult }>, problems: FileProblem[], totalMs: number): string {
  const suites = new Map<string, typeof results>();
  for (const r of results) {
    const key = `${r.def.manifest!.name}/${path.basename(r.file)}`;
    suites.set(key, [...(suites.get(key) ?? []), r]);
  }
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="nexfn test" tests="${results.length}" failures="${results.filter((r) => r.result.status !== 'passed').length}" errors="${problems.length}" time="${(totalMs / 1000).toFixed(3)}">`];
  for (const [name, list] of suites) {
    const failures = list.filter((r) => r.result.status !== 'passed').length;
    out.push(`  <testsuite name="${xml(name)}" tests="${list.length}" failures="${failures}" time="${(list.reduce((t, r) => t + r.result.durationMs, 0) / 1000).toFixed(3)}">`);
    for (const { result } of list) {
      out.push(`    <testcase classname="${xml(name)}" name="${xml(result.case.name)}" file="${xml(result.case.file)}" line="${result.case.line}" time="${(result.durationMs / 1000).toFixed(3)}">`);
      if (result.status !== 'passed') {
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
