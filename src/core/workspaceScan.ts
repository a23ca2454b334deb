/**
 * Finds function folders under a path: for the CLI (findFunctionDirs), and for the editor's catalog
 * (findManifests, which reads the folders itself instead of waiting for the editor's search service).
 */
import * as fs from 'fs';
import * as path from 'path';
import { MANIFEST_FILE } from './manifest';

const SKIPPED = new Set(['node_modules', '.git', 'target', 'dist', 'out', '.vscode-test']);

export function findFunctionDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 12) {
      return;
    }
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === MANIFEST_FILE)) {
      found.push(dir);
    }
    for (const e of entries) {
      if (e.isDirectory() && !SKIPPED.has(e.name) && !e.name.startsWith('.')) {
        walk(path.join(dir, e.name), depth + 1);
      }
    }
  };
  walk(path.resolve(root), 0);
  return found.sort();
}

/** The folders the editor's catalog does not enter, at any depth: the names of the exclude glob it gave the search service before. */
export const EDITOR_SKIPPED_DIRS: ReadonlySet<string> = new Set(['node_modules', '.git', 'dist', 'out', 'target']);

/** How long the walk reads folders before it lets other work run (a large workspace is read in slices). */
const SLICE_MS = 15;

/**
 * The path of every manifest under `root`, as the editor's file search found them: folders named in
 * `skipped` are not entered, hidden ones are, a symbolic link to a folder is followed (once: a link
 * back to a folder already read is not), and folders that cannot be read are passed over. Unsorted.
 * The folders are read synchronously in slices of a few milliseconds, yielding between them: at
 * start-up the event loop is busy with the editor's other work, and a walk that waited for it at
 * every folder took hundreds of milliseconds for a few dozen files.
 */
export async function findManifests(root: string, skipped: ReadonlySet<string> = EDITOR_SKIPPED_DIRS): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  const queue = [path.resolve(root)];
  let sliceStart = performance.now();
  while (queue.length > 0) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    const dir = queue.pop()!;
    let entries: fs.Dirent[];
    try {
      const real = fs.realpathSync(dir);
      if (seen.has(real)) {
        continue;
      }
      seen.add(real);
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = statOrUndefined(full);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isFile && e.name === MANIFEST_FILE) {
        found.push(full);
      } else if (isDir && !skipped.has(e.name)) {
        queue.push(full);
      }
    }
  }
  return found;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
