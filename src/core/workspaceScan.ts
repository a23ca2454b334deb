/** Finds function folders under a path, for the CLI (the editor uses its own file search). */
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
