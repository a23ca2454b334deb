/** Turns trigger case results into the lines users read: the one writer for `nexfn test` and "Nex: Run Trigger Cases". */
import * as path from 'path';
import { plural } from '../core/bytes';
import { formatMs, RunReportLine } from '../run/runReport';
import { CaseResult } from './caseRunner';

export interface CaseReportOptions {
  /** How a case's file is named in a failure's location (default: its base name). */
  fileLabel?: (file: string) => string;
}

/** One line per passed case; a failed case adds its location, failures and expected/actual. */
export function formatCaseResults(results: readonly CaseResult[], options: CaseReportOptions = {}): RunReportLine[] {
  const label = options.fileLabel ?? ((file: string) => path.basename(file));
  const lines: RunReportLine[] = [];
  for (const r of results) {
    const name = `${path.basename(r.case.file)} › ${r.case.name}`;
    if (r.status === 'passed') {
      lines.push({ level: 'info', text: `  ✔ ${name} (${formatMs(r.durationMs)})` });
    } else {
      lines.push({ level: 'error', text: `  ✖ ${name} (${label(r.case.file)}:${r.case.line})` });
      r.failures.forEach((f) => lines.push({ level: 'error', text: `      ${f}` }));
      if (r.expected !== undefined) {
        lines.push({ level: 'error', text: `      expected: ${indent(r.expected)}` });
        lines.push({ level: 'error', text: `      actual:   ${indent(r.actual ?? '')}` });
      }
    }
    r.warnings.forEach((w) => lines.push({ level: 'warn', text: `      ⚠ ${w}` }));
  }
  return lines;
}

/** "N passed, N failed", the closing line test runners print. */
export function caseSummary(results: readonly CaseResult[]): { passed: number; failed: number; text: string } {
  const failed = results.filter((r) => r.status !== 'passed').length;
  const passed = results.length - failed;
  return { passed, failed, text: `${passed} passed, ${failed} failed` };
}

/** Counts of a function's (or a trigger file's) cases and their last results. */
export interface CaseCounts {
  cases: number;
  passed: number;
  failed: number;
  /** Problems that keep cases from loading. */
  problems: number;
}

/**
 * Cases at a glance, as the Functions view shows them: "3/3 ✔", "1 failing", "2/3 ✔" (one has not
 * run), "3 cases" (none has run); problems are added, never hidden ("1 failing, 1 problem").
 */
export function caseCountText(c: CaseCounts): string {
  const parts: string[] = [];
  if (c.failed > 0) {
    parts.push(`${c.failed} failing`);
  } else if (c.passed > 0) {
    parts.push(`${c.passed}/${c.cases} ✔`);
  } else if (c.cases > 0 || c.problems === 0) {
    parts.push(plural(c.cases, 'case'));
  }
  if (c.problems > 0) {
    parts.push(plural(c.problems, 'problem'));
  }
  return parts.join(', ');
}

function indent(text: string): string {
  return text.split('\n').join('\n                ');
}
