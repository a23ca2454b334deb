/**
 * The workspace's functions: every folder holding a nexfunction.json, kept current by a file
 * watcher, with manifest problems published as diagnostics. The manifests are found by reading the
 * workspace folders (core/workspaceScan.ts), not through the editor's search service, which may be
 * slow to come up at start-up: the views fill as soon as the folders are read.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Disposable,
  EventEmitter,
  RelativePattern,
  Uri,
  workspace as Workspace,
} from 'vscode';
import { FunctionDefinition, loadFunction, MANIFEST_FILE } from '../core/manifest';
import { findManifests } from '../core/workspaceScan';
import { JsonFileDiagnostics } from './diagnostics';

const REFRESH_DEBOUNCE_MS = 150;

export class FunctionCatalog implements Disposable {
  private readonly changed = new EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = new JsonFileDiagnostics('nex', 'nex');
  private readonly disposables: Disposable[] = [this.changed, this.diagnostics];
  private items: FunctionDefinition[] = [];
  private pending?: ReturnType<typeof setTimeout>;
  private current?: Promise<void>;
  loaded = false;

  constructor() {
    for (const folder of Workspace.workspaceFolders ?? []) {
      const watcher = Workspace.createFileSystemWatcher(new RelativePattern(folder, `**/{${MANIFEST_FILE},*.js}`));
      const schedule = () => this.scheduleRefresh();
      // A folder created or deleted as a whole (copied in, checked out, removed) may be reported as
      // the folder alone, without its files: refresh for new folders, and for deleted ones that
      // held (or were) a function folder.
      const folders = Workspace.createFileSystemWatcher(new RelativePattern(folder, '**'), false, true, false);
      const onCreate = (uri: Uri) => {
        fs.stat(uri.fsPath, (err, stat) => {
          if (!err && stat.isDirectory() && !/[\\/](node_modules|\.git)([\\/]|$)/.test(uri.fsPath)) {
            this.scheduleRefresh();
          }
        });
      };
      const onDelete = (uri: Uri) => {
        const gone = path.resolve(uri.fsPath);
        if (this.items.some((f) => f.dir === gone || f.dir.startsWith(gone + path.sep))) {
          this.scheduleRefresh();
        }
      };
      this.disposables.push(watcher, watcher.onDidCreate(schedule), watcher.onDidChange(schedule), watcher.onDidDelete(schedule));
      this.disposables.push(folders, folders.onDidCreate(onCreate), folders.onDidDelete(onDelete));
    }
    this.disposables.push(Workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh()));
  }

  get functions(): readonly FunctionDefinition[] {
    return this.items;
  }

  /** The function whose folder holds `fsPath` (a source file, manifest or folder). */
  findFor(fsPath: string): FunctionDefinition | undefined {
    const target = path.resolve(fsPath);
    return this.items
      .filter((f) => target === f.dir || target.startsWith(f.dir + path.sep))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
  }

  refresh(): Promise<void> {
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = undefined;
    }
    const run = async () => {
      const roots = (Workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
      // A manifest inside two workspace folders (one nested in the other) is one function.
      const manifests = [...new Set((await Promise.all(roots.map((root) => findManifests(root)))).flat())];
      this.items = manifests
        .map((file) => loadFunction(path.dirname(file)))
        .sort((a, b) => (a.manifest?.name ?? a.dir).localeCompare(b.manifest?.name ?? b.dir));
      this.publishDiagnostics();
      this.loaded = true;
      this.changed.fire();
    };
    this.current = (this.current ?? Promise.resolve()).then(run, run);
    return this.current;
  }

  private scheduleRefresh(): void {
    if (this.pending) {
      clearTimeout(this.pending);
    }
    this.pending = setTimeout(() => void this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  private publishDiagnostics(): void {
    this.diagnostics.publish(this.items.flatMap((f) => f.problems));
  }

  dispose(): void {
    if (this.pending) {
      clearTimeout(this.pending);
    }
    Disposable.from(...this.disposables).dispose();
  }
}
