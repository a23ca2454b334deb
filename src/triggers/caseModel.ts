/**
 * The workspace's trigger cases: functions → trigger files → cases, kept current from the files.
 * Each trigger file is read when it is new or has changed (by its modification time and size) and
 * never again until it changes; the index is built again only when a function or a file changed,
 * and listeners hear which files changed or went away. Free of VS Code: the editor feeds it the
 * catalog's functions and says when to look at the files again (`sync`); a run syncs by itself.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FunctionDefinition, isValid, ValidFunction } from '../core/manifest';
import { FileProblem } from '../core/problems';
import { caseId, parseTriggerFile, TRIGGERS_DIR, TriggerCase, TriggerFile } from './triggerCases';

/** A case, and the function it tests. */
export interface CaseRef {
  def: ValidFunction;
  tc: TriggerCase;
}

/** Something that keeps cases from running (an invalid manifest, a trigger file with problems), with where to look. */
export interface CaseProblem {
  what: string;
  file: string;
  line?: number;
  message: string;
}

/** A function and its trigger files (none for an invalid function). */
export interface FunctionCases {
  def: FunctionDefinition;
  files: readonly TriggerFile[];
}

/** What changed: the trigger files whose text changed or that went away, each with when (their new modification time, else now). */
export interface CaseModelChange {
  changed: ReadonlyArray<{ file: string; at: number }>;
}

/** How the model reaches the files (tests may count the reads). */
export interface CaseFiles {
  list(dir: string): string[];
  /** An identity of the file's current content (modification time and size); undefined when it does not exist. */
  stamp(file: string): { key: string; mtimeMs: number } | undefined;
  read(file: string): string;
}

export const nodeCaseFiles: CaseFiles = {
  list: (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []),
  stamp: (file) => {
    try {
      const s = fs.statSync(file);
      return { key: `${s.mtimeMs}:${s.size}`, mtimeMs: s.mtimeMs };
    } catch {
      return undefined;
    }
  },
  read: (file) => fs.readFileSync(file, 'utf8'),
};

export class TriggerCaseModel {
  private defs: readonly FunctionDefinition[] = [];
  /** The definitions as last indexed, as JSON: the same functions again change nothing. */
  private defsKey = '[]';
  /** What each trigger file held when it was last read. */
  private readonly texts = new Map<string, { key: string; text: string }>();
  private entries: FunctionCases[] = [];
  private readonly cases = new Map<string, CaseRef>();
  private caseProblems: CaseProblem[] = [];
  private triggerFileProblems: FileProblem[] = [];
  private readonly listeners = new Set<(change: CaseModelChange) => void>();

  constructor(private readonly files: CaseFiles = nodeCaseFiles) {}

  /** The catalog refreshed: index its functions, or, when they are the same as before, look at the trigger files again (`sync`). */
  setFunctions(functions: readonly FunctionDefinition[]): void {
    const key = JSON.stringify(functions);
    if (key === this.defsKey) {
      this.sync();
      return;
    }
    this.defs = functions;
    this.defsKey = key;
    const dirs = new Set(functions.map((d) => path.join(d.dir, TRIGGERS_DIR)));
    for (const file of [...this.texts.keys()].filter((f) => !dirs.has(path.dirname(f)))) {
      this.texts.delete(file);
    }
    this.rebuild(this.refreshFiles(functions).changed);
  }

  /** Looks at the trigger files again (of `def` only, when given): what changed is read and indexed, and listeners hear of it. */
  sync(def?: FunctionDefinition): void {
    const defs = def ? this.defs.filter((d) => d.dir === def.dir) : this.defs;
    const { changed, added } = this.refreshFiles(defs);
    if (changed.length > 0 || added) {
      this.rebuild(changed);
    }
  }

  /** Every function with its trigger files, in the catalog's order (as last synced). */
  get functions(): readonly FunctionCases[] {
    return this.entries;
  }

  /** A function's trigger files as they are now on disk (read again where they changed). */
  filesOf(def: FunctionDefinition): readonly TriggerFile[] {
    this.sync(def);
    return this.entries.find((e) => e.def.dir === def.dir)?.files ?? [];
  }

  case(id: string): CaseRef | undefined {
    return this.cases.get(id);
  }

  /** The ids of the cases of a function (or of every function), as last synced. */
  caseIds(def?: FunctionDefinition): string[] {
    return [...this.cases.entries()].filter(([, ref]) => !def || ref.def.dir === def.dir).map(([id]) => id);
  }

  get size(): number {
    return this.cases.size;
  }

  /** What keeps cases from running: invalid manifests, trigger files with problems. */
  get problems(): readonly CaseProblem[] {
    return this.caseProblems;
  }

  /** The problems of the trigger files, at their lines. */
  get fileProblems(): readonly FileProblem[] {
    return this.triggerFileProblems;
  }

  onDidChange(listener: (change: CaseModelChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Brings the texts of these functions' trigger files up to date: a file is read when it is new or
   * changed; one that went away is forgotten. Says which files changed or went away, and whether one came.
   */
  private refreshFiles(defs: readonly FunctionDefinition[]): { changed: Array<{ file: string; at: number }>; added: boolean } {
    const changed: Array<{ file: string; at: number }> = [];
    let added = false;
    for (const def of defs.filter(isValid)) {
      const dir = path.join(def.dir, TRIGGERS_DIR);
      const listed = this.files.list(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));
      for (const file of [...this.texts.keys()].filter((f) => path.dirname(f) === dir)) {
        if (!listed.includes(file)) {
          this.texts.delete(file);
          changed.push({ file, at: Date.now() });
        }
      }
      for (const file of listed) {
        const stamp = this.files.stamp(file);
        const known = this.texts.get(file);
        if (!stamp || known?.key === stamp.key) {
          continue;
        }
        this.texts.set(file, { key: stamp.key, text: this.files.read(file) });
        if (known) {
          changed.push({ file, at: stamp.mtimeMs });
        } else {
          added = true;
        }
      }
    }
    return { changed, added };
  }

  /** Builds the index again from the texts read, and tells the listeners. */
  private rebuild(changed: Array<{ file: string; at: number }>): void {
    this.cases.clear();
    const problems: CaseProblem[] = [];
    const fileProblems: FileProblem[] = [];
    this.entries = this.defs.map((def): FunctionCases => {
      const name = def.manifest?.name ?? path.basename(def.dir);
      if (!isValid(def)) {
        const first = def.problems[0];
        problems.push({ what: `${name}: invalid ${path.basename(def.manifestPath)}`, file: first?.file ?? def.manifestPath, line: first?.line, message: first ? `${first.field ? `"${first.field}": ` : ''}${first.message}` : 'the manifest is not valid' });
        return { def, files: [] };
      }
      const dir = path.join(def.dir, TRIGGERS_DIR);
      const files = [...this.texts.entries()]
        .filter(([file]) => path.dirname(file) === dir)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([file, { text }]) => parseTriggerFile(file, text, def));
      for (const file of files) {
        if (file.problems.length > 0) {
          const first = file.problems[0];
          const count = file.problems.length === 1 ? 'a problem' : `${file.problems.length} problems`;
          problems.push({ what: `${name}: ${path.basename(file.file)} has ${count}`, file: first.file, line: first.line, message: `${first.field ? `"${first.field}": ` : ''}${first.message}` });
          fileProblems.push(...file.problems);
        }
        for (const tc of file.cases) {
          this.cases.set(caseId(tc), { def, tc });
        }
      }
      return { def, files };
    });
    this.caseProblems = problems;
    this.triggerFileProblems = fileProblems;
    for (const listener of [...this.listeners]) {
      listener({ changed });
    }
  }
}
