/**
 * The last local result of each trigger case, and what the editor shows of them, free of VS Code:
 * a function's case summary (the Functions view), the workspace's status (the status bar and its
 * list of what is wrong), and the inline result of each case line. A result goes stale when its
 * trigger file changes after it was recorded.
 */
import { formatMs } from '../run/runReport';
import type { CaseProblem, TriggerCaseModel } from './caseModel';
import type { CaseResult } from './caseRunner';
import { caseId } from './triggerCases';
import type { FunctionDefinition } from '../core/manifest';

/** How a trigger file of a function stands: its cases and their last local results. */
export interface TriggerFileSummary {
  file: string;
  cases: number;
  passed: number;
  failed: number;
  /** Problems of the file itself (JSON, schema, a subject no trigger matches). */
  problems: number;
}

/** A function's trigger cases at a glance, for the Functions view. */
export interface FunctionCaseSummary {
  files: TriggerFileSummary[];
  cases: number;
  passed: number;
  failed: number;
  problems: number;
}

/** A function whose last build failed, with where to look. */
export interface FailedBuildProblem {
  functionName: string;
  file: string;
  line?: number;
  message: string;
}

/** The workspace at a glance, as the status bar shows it. */
export interface CaseStatus {
  /** "$(error) Nex: 1 failed, 2 passed, 1 problem". */
  text: string;
  /** Failing cases, then what keeps cases from running, then failed builds: each with where to look. */
  problems: CaseProblem[];
  /** Something is wrong: the status bar is never green then. */
  bad: boolean;
  /** Whether any local result is known. */
  ran: boolean;
}

/** One line's inline result: the results of the cases on it, failures first. */
export interface InlineResult {
  /** 0-based. */
  line: number;
  text: string;
  failed: boolean;
}

export class CaseResults {
  private readonly results = new Map<string, { result: CaseResult; at: number }>();
  private readonly listeners = new Set<() => void>();
  private readonly subscription: { dispose(): void };

  constructor(private readonly model: TriggerCaseModel) {
    // A trigger file that changed makes the results recorded before the change stale (they may no
    // longer be its cases); a run of the same change records its results after it, so they stay.
    this.subscription = model.onDidChange(({ changed }) => {
      for (const { file, at } of changed) {
        for (const [id, { result, at: recorded }] of this.results) {
          if (result.case.file === file && recorded < at) {
            this.results.delete(id);
          }
        }
      }
    });
  }

  /** Records the results of a local run (empty when nothing ran to the end) and tells the listeners. */
  record(results: ReadonlyArray<readonly [id: string, result: CaseResult]>, at = Date.now()): void {
    for (const [id, result] of results) {
      this.results.set(id, { result, at });
    }
    this.listeners.forEach((listener) => listener());
  }

  /** The latest result per case id. */
  get all(): ReadonlyMap<string, CaseResult> {
    return new Map([...this.results].map(([id, { result }]) => [id, result]));
  }

  /** The results of a trigger file's cases. */
  ofFile(file: string): CaseResult[] {
    return [...this.results.values()].filter(({ result }) => result.case.file === file).map(({ result }) => result);
  }

  /** A function's trigger files with their cases' last results; undefined when it has none. */
  functionSummary(def: FunctionDefinition): FunctionCaseSummary | undefined {
    const files = this.model.functions.find((f) => f.def.dir === def.dir)?.files ?? [];
    if (files.length === 0) {
      return undefined;
    }
    const summaries = files.map((f): TriggerFileSummary => {
      const results = f.cases.map((tc) => this.results.get(caseId(tc))?.result).filter((r): r is CaseResult => r !== undefined);
      const failed = results.filter((r) => r.status !== 'passed').length;
      return { file: f.file, cases: f.cases.length, passed: results.length - failed, failed, problems: f.problems.length };
    });
    const sum = (key: 'cases' | 'passed' | 'failed' | 'problems') => summaries.reduce((n, f) => n + f[key], 0);
    return { files: summaries, cases: sum('cases'), passed: sum('passed'), failed: sum('failed'), problems: sum('problems') };
  }

  /**
   * The workspace's status: failing cases, and whatever keeps cases from running (an invalid
   * manifest, a trigger file with problems, a failed build) make it bad, each with where to look.
   */
  status(failedBuilds: readonly FailedBuildProblem[]): CaseStatus {
    const results = [...this.results.values()].map(({ result }) => result).filter((r) => this.model.case(caseId(r.case)));
    const failed = results.filter((r) => r.status !== 'passed');
    const problems: CaseProblem[] = [
      ...failed.map((r) => ({ what: `${r.case.name} failed`, file: r.case.file, line: r.case.line, message: r.failures[0] ?? 'failed' })),
      ...this.model.problems,
      ...failedBuilds.map((b) => ({ what: `${b.functionName}: build failed`, file: b.file, line: b.line, message: b.message })),
    ];
    const broken = problems.length - failed.length;
    const parts: string[] = [];
    if (failed.length > 0) {
      parts.push(`${failed.length} failed`);
    }
    if (results.length > 0) {
      parts.push(`${results.length - failed.length} passed`);
    } else if (failed.length === 0) {
      parts.push(`${this.model.size} ${this.model.size === 1 ? 'case' : 'cases'}`);
    }
    if (broken > 0) {
      parts.push(`${broken} ${broken === 1 ? 'problem' : 'problems'}`);
    }
    const bad = problems.length > 0;
    return { text: `${bad ? '$(error)' : results.length > 0 ? '$(pass)' : '$(beaker)'} Nex: ${parts.join(', ')}`, problems, bad, ran: results.length > 0 };
  }

  /** The failing results of cases the model still has. */
  failing(): CaseResult[] {
    return [...this.results.values()].map(({ result }) => result).filter((r) => r.status !== 'passed' && this.model.case(caseId(r.case)));
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  dispose(): void {
    this.subscription.dispose();
    this.listeners.clear();
  }
}

/**
 * The inline results of a file's cases, one per line (`lineCount` lines): cases that share a line
 * share it, failures first, so that two results never overlap.
 */
export function inlineResults(results: readonly CaseResult[], lineCount: number): InlineResult[] {
  const byLine = new Map<number, CaseResult[]>();
  for (const r of results) {
    const line = Math.min(r.case.line - 1, lineCount - 1);
    byLine.set(line, [...(byLine.get(line) ?? []), r]);
  }
  return [...byLine].map(([line, onLine]) => {
    const texts = [...onLine.filter((r) => r.status !== 'passed'), ...onLine.filter((r) => r.status === 'passed')].map((r) => {
      const reply = r.run?.outcome.reply;
      const replyText = reply ? Buffer.from(reply).toString('utf8').replace(/\s+/g, ' ').slice(0, 60) : 'no reply';
      const text = r.status === 'passed' ? `✔ ${formatMs(r.durationMs)} → ${replyText}` : `✖ ${r.failures[0]}`;
      return onLine.length > 1 ? `${r.case.name}: ${text}` : text;
    });
    return { line, text: texts.join('   ·   '), failed: onLine.some((r) => r.status !== 'passed') };
  });
}
