/** Diagnostics from the core's 1-based locations, and publishing them grouped by file. */
import { Diagnostic, DiagnosticCollection, DiagnosticSeverity, Disposable, languages as Languages, Range, TabInputText, TextDocument, Uri, window as Window, workspace as Workspace } from 'vscode';
import { FileProblem, isJsonSyntaxProblem } from '../core/problems';

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

/** Whether VS Code's JSON language service checks this file now: it is open, as JSON. */
function jsonServiceChecks(file: string, closing?: TextDocument): boolean {
  // It validates the JSON documents shown in tabs: a document can stay open in the extension host
  // long after its tab has closed, and then it reports nothing.
  const inTab = Window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof TabInputText && t.input.uri.scheme === 'file' && t.input.uri.fsPath === file));
  return inTab && Workspace.textDocuments.some((d) => d !== closing && !d.isClosed && d.uri.scheme === 'file' && d.uri.fsPath === file && (d.languageId === 'json' || d.languageId === 'jsonc'));
}

/**
 * Diagnostics of the user's JSON files (manifests, trigger files, mocks files). While such a file
 * is open in a tab, VS Code's JSON language service reports its syntax errors itself, as the user types:
 * ours step back then, and come back when the file is closed, so each problem shows once.
 */
export class JsonFileDiagnostics implements Disposable {
  private readonly collection: DiagnosticCollection;
  private readonly byFile = new Map<string, Array<{ diagnostic: Diagnostic; syntax: boolean }>>();
  private readonly subscriptions: Disposable[];

  /**
   * @param name the collection's name
   * @param source what the diagnostics say they come from, e.g. "nex triggers"
   * @param toLineEnd mark from the problem's column to the end of its line
   */
  constructor(
    name: string,
    private readonly source: string,
    private readonly toLineEnd = false,
  ) {
    this.collection = Languages.createDiagnosticCollection(name);
    const again = (doc: TextDocument, closing?: TextDocument) => {
      if (doc.uri.scheme === 'file' && this.byFile.has(doc.uri.fsPath)) {
        this.apply(doc.uri.fsPath, closing);
      }
    };
    this.subscriptions = [
      this.collection,
      Workspace.onDidOpenTextDocument((doc) => again(doc)),
      Workspace.onDidCloseTextDocument((doc) => again(doc, doc)),
      Window.tabGroups.onDidChangeTabs(() => [...this.byFile.keys()].forEach((file) => this.apply(file))),
    ];
  }

  /** Replaces every diagnostic with these problems, grouped by file. */
  publish(problems: readonly FileProblem[]): void {
    const files = new Set([...this.byFile.keys()]);
    this.byFile.clear();
    for (const p of problems) {
      this.byFile.set(p.file, [...(this.byFile.get(p.file) ?? []), this.entry(p)]);
    }
    for (const file of new Set([...files, ...this.byFile.keys()])) {
      this.apply(file);
    }
  }

  /** Replaces the diagnostics of one file. */
  set(file: string, problems: readonly FileProblem[]): void {
    this.byFile.set(file, problems.map((p) => this.entry(p)));
    this.apply(file);
  }

  private entry(p: FileProblem): { diagnostic: Diagnostic; syntax: boolean } {
    const message = p.field ? `"${p.field}": ${p.message}` : p.message;
    return { diagnostic: diagnostic({ ...p, message, source: this.source, toLineEnd: this.toLineEnd }), syntax: isJsonSyntaxProblem(p) };
  }

  delete(file: string): void {
    this.byFile.delete(file);
    this.collection.delete(Uri.file(file));
  }

  /** @param closing a document being closed: the JSON service no longer checks it */
  private apply(file: string, closing?: TextDocument): void {
    const items = this.byFile.get(file);
    if (!items || items.length === 0) {
      this.byFile.delete(file);
      this.collection.delete(Uri.file(file));
      return;
    }
    const yieldSyntax = jsonServiceChecks(file, closing);
    this.collection.set(
      Uri.file(file),
      items.filter((i) => !(yieldSyntax && i.syntax)).map((i) => i.diagnostic),
    );
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
  }
}
