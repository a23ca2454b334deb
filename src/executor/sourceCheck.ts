/**
 * What a node would refuse in a JavaScript function, found without calling it: ES module syntax,
 * syntax errors, a script that does not end in a function, a source over the node's size limit.
 * The script's top level is evaluated (in the worker, with the usual limits) to learn what its
 * last expression is, so only trusted code should be checked.
 */
import { CompatProfile, DEFAULT_COMPAT, NODE_JS_SOURCE_LIMIT } from '../core/compat';
import { WorkerExecutor } from './workerExecutor';
import { DEFAULT_LIMITS } from './types';
import { functionStartLine } from './fidelity';

export interface SourceProblem {
  line: number;
  column?: number;
  severity: 'error' | 'warning';
  message: string;
  code: string;
}

export async function checkJsSource(executor: WorkerExecutor, source: string, fileName: string, profile: CompatProfile = DEFAULT_COMPAT): Promise<SourceProblem[]> {
  const problems: SourceProblem[] = [];
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > NODE_JS_SOURCE_LIMIT) {
    problems.push({
      line: 1,
      severity: profile === 'docs' ? 'warning' : 'error',
      code: 'source-size',
      message: `the source is ${bytes} bytes: Nex nodes refuse JavaScript over ${NODE_JS_SOURCE_LIMIT} bytes at deploy time`,
    });
  }
  const moduleSyntax = source.split('\n').findIndex((l) => /^\s*(import\s[\s\S]*from\s|import\s*['"{*]|export\s)/.test(l));
  if (moduleSyntax >= 0) {
    problems.push({
      line: moduleSyntax + 1,
      severity: 'error',
      code: 'module-syntax',
      message: 'ES module syntax (import/export): a node runs the function as a classic script, where this is a syntax error. End the file with the function itself instead of exporting it, and inline what you import (or bundle to a script whose last expression is the function)',
    });
    return problems;
  }
  const out = await executor.run({ kind: 'js', source, fileName, subject: 'nex.check', payload: new Uint8Array(), limits: { ...DEFAULT_LIMITS, timeoutMs: 2000 }, profile, checkOnly: true });
  const e = out.error;
  if (e?.kind === 'syntax') {
    problems.push({ line: e.line ?? 1, column: e.column, severity: 'error', code: 'syntax', message: e.message });
  } else if (e?.kind === 'notAFunction') {
    const lines = source.trimEnd().split('\n');
    problems.push({ line: functionStartLine(source) ?? lines.length, severity: 'error', code: 'not-a-function', message: e.message });
  } else if (e && e.kind !== 'cancelled' && !(e.kind === 'invalidInput' && problems.some((p) => p.code === 'source-size'))) {
    problems.push({ line: e.line ?? 1, column: e.column, severity: 'error', code: e.kind, message: `the script fails before the function is called: ${e.message}` });
  }
  return problems;
}
