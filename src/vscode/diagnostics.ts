/** Diagnostics from the core's 1-based locations, and publishing them grouped by file. */
import { Diagnostic, DiagnosticCollection, DiagnosticSeverity, Range, Uri } from 'vscode';

export interface DiagnosticSpec {
  /** 1-based; the first line when unknown. */
  line?: number;
  /** 1-based; the line's start when unknown. */
  column?: number;
  message: string;
  severity?: 'error' | 'warning' | 'info';
  source: string;
  code?: string;
  /** Mark from the column to the end of the line (default: one character). */
  toLineEnd?: boolean;
}

export function diagnostic(spec: DiagnosticSpec): Diagnostic {
  const l = Math.max(0, (spec.line ?? 1) - 1);
  const c = Math.max(0, (spec.column ?? 1) - 1);
  const end = !spec.toLineEnd ? c + 1 : spec.line === undefined ? c : Number.MAX_SAFE_INTEGER;
  const d = new Diagnostic(new Range(l, c, l, end), spec.message, spec.severity === 'warning' ? DiagnosticSeverity.Warning : spec.severity === 'info' ? DiagnosticSeverity.Information : DiagnosticSeverity.Error);
  d.source = spec.source;
  if (spec.code !== undefined) {
    d.code = spec.code;
  }
  return d;
}

/** Replaces everything in `collection` with these diagnostics, grouped by file. */
export function publishByFile(collection: DiagnosticCollection, items: Array<{ file: string; diagnostic: Diagnostic }>): void {
  const byFile = new Map<string, Diagnostic[]>();
  for (const { file, diagnostic: d } of items) {
    byFile.set(file, [...(byFile.get(file) ?? []), d]);
  }
  collection.clear();
  for (const [file, list] of byFile) {
    collection.set(Uri.file(file), list);
  }
}
