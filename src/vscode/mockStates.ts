/**
 * The host-service mock state of each function for this editor session: seeded from the
 * function's mocks file on first use, carried from run to run (a counter counts up, as it would in
 * a node's bucket), changed by the host-services panel, reset to the file on demand or when the
 * file changes, and saved back to it. The state is also kept in the workspace state, so nothing is
 * lost on reload. Recent host calls and the last run are kept for the panel.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyEdits, modify } from 'jsonc-parser';
import { Disposable, EventEmitter, Memento } from 'vscode';
import { mocksPath, ValidFunction } from '../core/manifest';
import { freshMocks, FunctionRunResult } from '../run/functionRun';
import { MockFixture, MockHostServices } from '../hostservices/mockBackend';
import { displayValue, LoggedCall, PanelSnapshot } from '../hostservices/panelModel';

export const DEFAULT_MOCKS_FILE = 'mocks.json';
const MAX_CALLS = 500;

interface MockState {
  mock: MockHostServices;
  seededFrom?: string;
  seededAt?: number;
  /** Changed since loaded from (or saved to) the mocks file. */
  dirty: boolean;
  calls: LoggedCall[];
  runs: number;
  lastRun?: PanelSnapshot['lastRun'];
}

interface StoredState {
  fixture: MockFixture;
  seededFrom?: string;
  seededAt?: number;
}

export class MockStates implements Disposable {
  private readonly states = new Map<string, MockState>();
  private readonly changed = new EventEmitter<string>();
  /** Fires with the function folder whose state changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly memento?: Memento) {}

  private key(def: ValidFunction): string {
    return `nex.mockState:${def.dir}`;
  }

  private state(def: ValidFunction): MockState {
    const file = mocksPath(def);
    const mtime = file && fs.existsSync(file) ? fs.statSync(file).mtimeMs : undefined;
    const current = this.states.get(def.dir);
    if (current && current.seededFrom === file && current.seededAt === mtime) {
      return current;
    }
    // New, or the mocks file changed: the file wins. After a reload, state kept in the workspace
    // state is restored when the file has not changed since.
    const stored = this.memento?.get<StoredState>(this.key(def));
    const mock = freshMocks(def);
    let dirty = false;
    if (!current && stored && stored.seededFrom === file && stored.seededAt === mtime) {
      mock.kv.clear();
      mock.objects.clear();
      mock.requestReplies = [];
      mock.routes = [];
      mock.seed(stored.fixture, 'saved panel state');
      dirty = true;
    }
    const state: MockState = { mock, seededFrom: file, seededAt: mtime, dirty, calls: current?.calls ?? [], runs: current?.runs ?? 0, lastRun: current?.lastRun };
    this.states.set(def.dir, state);
    return state;
  }

  /** The function's current mock state; (re)seeded when new or when its mocks file changed. */
  for(def: ValidFunction): MockHostServices {
    return this.state(def).mock;
  }

  /** Marks the state changed (by a run or an edit): remembered across reloads. */
  markChanged(def: ValidFunction): void {
    const state = this.state(def);
    state.dirty = true;
    void this.memento?.update(this.key(def), { fixture: state.mock.toFixture(), seededFrom: state.seededFrom, seededAt: state.seededAt } satisfies StoredState);
    this.changed.fire(def.dir);
  }

  /** Records a run's host calls and result for the panel. */
  recordRun(def: ValidFunction, result: FunctionRunResult): void {
    const state = this.state(def);
    state.runs++;
    const time = new Date().toISOString();
    state.calls.push(...result.outcome.hostCalls.map((c) => ({ ...c, run: state.runs, time })));
    state.calls.splice(0, Math.max(0, state.calls.length - MAX_CALLS));
    const o = result.outcome;
    state.lastRun = { subject: result.subject, ok: o.ok, reply: o.reply ? displayValue(o.reply) : undefined, error: o.error?.message, time };
    if (o.hostCalls.length > 0) {
      this.markChanged(def);
    } else {
      this.changed.fire(def.dir);
    }
  }

  panelMeta(def: ValidFunction): Pick<PanelSnapshot, 'functionName' | 'profile' | 'mocksFile' | 'dirty' | 'calls' | 'lastRun'> {
    const state = this.state(def);
    return { functionName: def.manifest.name, profile: def.manifest.compat ?? 'docs', mocksFile: def.manifest.mocks, dirty: state.dirty, calls: state.calls, lastRun: state.lastRun };
  }

  /** Forgets the state: the next run starts again from the mocks file. */
  reset(def: ValidFunction): void {
    this.states.delete(def.dir);
    void this.memento?.update(this.key(def), undefined);
    this.changed.fire(def.dir);
  }

  /**
   * Writes the current state to the function's mocks file (creating mocks.json and naming it in
   * the manifest when the function has none). Returns the file written.
   */
  save(def: ValidFunction): string {
    const state = this.state(def);
    let file = mocksPath(def);
    if (!file) {
      file = path.join(def.dir, DEFAULT_MOCKS_FILE);
      const manifestText = fs.readFileSync(def.manifestPath, 'utf8');
      const edits = modify(manifestText, ['mocks'], DEFAULT_MOCKS_FILE, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
      fs.writeFileSync(def.manifestPath, applyEdits(manifestText, edits));
    }
    fs.writeFileSync(file, JSON.stringify(state.mock.toFixture(), null, 2) + '\n');
    this.states.set(def.dir, { ...state, seededFrom: file, seededAt: fs.statSync(file).mtimeMs, dirty: false });
    void this.memento?.update(this.key(def), undefined);
    this.changed.fire(def.dir);
    return file;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

