/**
 * The host-service mock state of each function for this editor session: seeded from the
 * function's mocks file on first use, carried from run to run (a counter counts up, as it would in
 * a node's bucket), reset to the file on demand or when the file changes, and saved back to it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyEdits, modify } from 'jsonc-parser';
import { FunctionDefinition } from '../core/manifest';
import { LOCAL_NAMESPACE } from '../executor/functionRun';
import { MockHostServices } from '../hostservices/mockBackend';
import { mockHostServicesFor } from '../hostservices/mockFixtureFile';

export const DEFAULT_MOCKS_FILE = 'mocks.json';

export class MockStates {
  private readonly states = new Map<string, { mock: MockHostServices; seededFrom?: string; seededAt?: number }>();

  /** The function's current mock state; (re)seeded when new or when its mocks file changed. */
  for(def: FunctionDefinition): MockHostServices {
    const file = mocksFileOf(def);
    const mtime = file && fs.existsSync(file) ? fs.statSync(file).mtimeMs : undefined;
    const current = this.states.get(def.dir);
    if (current && current.seededFrom === file && current.seededAt === mtime) {
      return current.mock;
    }
    const mock = mockHostServicesFor(LOCAL_NAMESPACE, def.manifest!.name, file);
    this.states.set(def.dir, { mock, seededFrom: file, seededAt: mtime });
    return mock;
  }

  /** Forgets the state: the next run starts again from the mocks file. */
  reset(def: FunctionDefinition): void {
    this.states.delete(def.dir);
  }

  /**
   * Writes the current state to the function's mocks file (creating mocks.json and naming it in
   * the manifest when the function has none). Returns the file written.
   */
  save(def: FunctionDefinition): string {
    const mock = this.for(def);
    let file = mocksFileOf(def);
    if (!file) {
      file = path.join(def.dir, DEFAULT_MOCKS_FILE);
      const manifestText = fs.readFileSync(def.manifestPath, 'utf8');
      const edits = modify(manifestText, ['mocks'], DEFAULT_MOCKS_FILE, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
      fs.writeFileSync(def.manifestPath, applyEdits(manifestText, edits));
    }
    fs.writeFileSync(file, JSON.stringify(mock.toFixture(), null, 2) + '\n');
    this.states.set(def.dir, { mock, seededFrom: file, seededAt: fs.statSync(file).mtimeMs });
    return file;
  }
}

function mocksFileOf(def: FunctionDefinition): string | undefined {
  return def.manifest?.mocks ? path.join(def.dir, def.manifest.mocks) : undefined;
}
