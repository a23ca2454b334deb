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
    } else if (r.status === 'skipped') {
      lines.push({ level: 'info', text: `  - ${name} skipped: ${r.skipReason ?? 'not run'}` });
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

/** "N passed, N failed" (", N skipped" when some were), the closing line test runners print. Skipped cases do not fail. */
export function caseSummary(results: readonly CaseResult[]): { passed: number; failed: number; skipped: number; text: string } {
  const skipped = results.filter((r) => r.status === 'skipped').length;
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.length - passed - skipped;
  return { passed, failed, skipped, text: `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}` };
}

/** What the question before a deploy says about the cases that failed, and the case to show. */
export interface FailedCasesBeforeDeploy {
  /** "0 passed, 2 failed: "greets by name" failed: <why> (and 1 more)". */
  text: string;
  /** The first failed case, for Show Case; undefined when none failed. */
  first?: CaseResult;
}

/** A case's failure in one short line: its first reason, with what was expected and what came when it compared them. */
function failureLine(r: CaseResult, max: number): string {
  const oneLine = (t: string, n: number) => {
    const flat = t.replace(/\s*\n\s*/g, ' ');
    return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
  };
  const why = r.failures[0] ?? 'it failed';
  const compared = r.expected !== undefined ? `: expected ${oneLine(r.expected, 60)}, got ${oneLine(r.actual ?? '', 60)}` : '';
  return oneLine(`${why}${compared}`, max);
}

/**
 * The trigger cases run before a deploy, for its question when some failed: the counts, the first
 * failed case's name and why it failed (one line, at most about 200 characters), and how many more
 * failed. Pure: the editor adds the question and the buttons.
 */
export function failedCasesBeforeDeploy(results: readonly CaseResult[]): FailedCasesBeforeDeploy {
  const { failed, text } = caseSummary(results);
  const first = results.find((r) => r.status === 'failed');
  if (!first) {
    return { text };
  }
  const more = failed - 1;
  return { text: `${text}: "${first.case.name}" failed: ${failureLine(first, 200)}${more > 0 ? ` (and ${more} more)` : ''}`, first };
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
