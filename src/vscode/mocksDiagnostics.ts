/**
 * Problems of the functions' mocks files (the manifest's "mocks") as diagnostics at their lines,
 * kept current as the user types: a malformed mocks file shows in the Problems panel before a run
 * fails on it.
 */
import * as fs from 'fs';
import { TextDocument, workspace as Workspace } from 'vscode';
import { mocksPath } from '../core/manifest';
import { checkMockFixtureText } from '../hostservices/mockFixtureFile';
import { JsonFileDiagnostics } from './diagnostics';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';

export class MocksDiagnostics extends DisposableObject {
  private readonly diagnostics = this.register(new JsonFileDiagnostics('nex-mocks', 'nex mocks', true));
  /** The mocks files the catalog's functions name. */
  private files = new Set<string>();

  constructor(private readonly catalog: FunctionCatalog) {
    super();
    this.register(catalog.onDidChange(() => this.checkAll()));
    this.register(Workspace.onDidChangeTextDocument((e) => this.checkDocument(e.document)));
    this.register(Workspace.onDidOpenTextDocument((doc) => this.checkDocument(doc)));
    // Closing an edited document without saving: the file on disk is what runs.
    this.register(Workspace.onDidCloseTextDocument((doc) => this.files.has(doc.uri.fsPath) && this.check(doc.uri.fsPath)));
    this.checkAll();
  }

  private checkAll(): void {
    const files = new Set(this.catalog.functions.map(mocksPath).filter((f): f is string => f !== undefined));
    for (const gone of [...this.files].filter((f) => !files.has(f))) {
      this.diagnostics.delete(gone);
    }
    this.files = files;
    for (const file of files) {
      const open = Workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
      if (open) {
        this.checkDocument(open);
      } else {
        this.check(file);
      }
    }
  }

  private checkDocument(doc: TextDocument): void {
    if (doc.uri.scheme === 'file' && this.files.has(doc.uri.fsPath)) {
      this.check(doc.uri.fsPath, doc.getText());
    }
  }

  private check(file: string, text?: string): void {
    let content = text;
    if (content === undefined) {
      try {
        content = fs.readFileSync(file, 'utf8');
      } catch {
        // A missing mocks file is the manifest's problem ("mocks": the file does not exist).
        this.diagnostics.delete(file);
        return;
      }
    }
    const { problems } = checkMockFixtureText(file, content);
    this.diagnostics.set(file, problems);
  }
}
