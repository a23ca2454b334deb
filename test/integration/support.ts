/**
 * What the integration tests share: the extension's test API, UI ports that answer from a script or
 * record every message and answer as told (creating missing keys), throw-away function folders in
 * the workspace, a keys folder of their own, and a wait for a condition that names what never came.
 *
 * Every file of test/integration runs in one extension host, the files in alphabetical order: a
 * test leaves the workspace, the settings, the connection and the local node as it found them.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DeployedSnapshot } from '../../src/explorer/deployedModel';
import type { NexTestApi } from '../../src/vscode/extension';
import type { RenderedItem } from '../../src/vscode/views/deployedView';
import type { InputOptions, PickItem, UserInterface } from '../../src/vscode/ui';

export const EXTENSION_ID = 'nex-functions.nex-functions';

/** The extension, activated: its test API. */
export async function activateNex(): Promise<NexTestApi> {
  const ext = vscode.extensions.getExtension<NexTestApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  return ext.activate();
}

export const workspaceDir = (): string => vscode.workspace.workspaceFolders![0].uri.fsPath;

/** One scripted answer: text for an input or a message's button, a label part or a chooser for a pick. */
export type ScriptedAnswer = string | ((items: PickItem<unknown>[]) => unknown);

/**
 * A UI that answers every question (inputs, picks and the buttons of warnings) from one script, and
 * records what it was shown: "pick: title", "input: title" ("input: title [prefilled]" with
 * `showPrefilled`), "invalid: why" for an answer the input's validation refuses, "info: message".
 */
export class ScriptedUi implements UserInterface {
  readonly shown: string[] = [];
  constructor(
    private readonly answers: ScriptedAnswer[],
    private readonly options: { showPrefilled?: boolean } = {},
  ) {}
  async pick<T>(items: PickItem<T>[], options: { title: string }): Promise<T | undefined> {
    this.shown.push(`pick: ${options.title}`);
    const answer = this.answers.shift();
    if (typeof answer === 'function') {
      return answer(items as PickItem<unknown>[]) as T;
    }
    return items.find((i) => i.label.includes(String(answer)))?.value;
  }
  async input(options: InputOptions): Promise<string | undefined> {
    this.shown.push(`input: ${options.title}${this.options.showPrefilled && options.value !== undefined ? ` [${options.value}]` : ''}`);
    const answer = this.answers.shift() as string | undefined;
    if (answer !== undefined && options.validate?.(answer)) {
      this.shown.push(`invalid: ${options.validate(answer)}`);
      return undefined;
    }
    return answer;
  }
  async info(message: string): Promise<string | undefined> {
    this.shown.push(`info: ${message}`);
    return undefined;
  }
  /** A warning with buttons takes the next answer when it names one of them. */
  async warn(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push(`warn: ${message}`);
    return actions.length > 0 && typeof this.answers[0] === 'string' && actions.includes(this.answers[0]) ? (this.answers.shift() as string) : undefined;
  }
  async error(message: string): Promise<string | undefined> {
    this.shown.push(`error: ${message}`);
    return undefined;
  }
}

/** For a suite's before hook: the extension activated, its catalog read afresh, and a UI with nothing to say. */
export async function freshApi(): Promise<NexTestApi> {
  const api = await activateNex();
  assert.ok(api, 'activate() returns the test API outside production');
  await api.refresh();
  api.setUi(new ScriptedUi([]));
  return api;
}

/** Answers a message's buttons: the label to press, or undefined to dismiss it. */
export type Answer = (kind: 'info' | 'warn' | 'error', message: string, actions: string[]) => string | undefined;

/** Records every message as "kind: message [buttons]"; creates missing keys when asked; otherwise answers with `answer`. */
export class RecordingUi implements UserInterface {
  readonly shown: string[] = [];
  constructor(private readonly answer: Answer = () => undefined) {}
  async pick<T>(_items: PickItem<T>[], options: { title: string }): Promise<T | undefined> {
    this.shown.push(`pick: ${options.title}`);
    return undefined;
  }
  async input(options: InputOptions): Promise<string | undefined> {
    this.shown.push(`input: ${options.title}`);
    return undefined;
  }
  info(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.say('info', message, actions);
  }
  warn(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.say('warn', message, actions);
  }
  error(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.say('error', message, actions);
  }
  said(): string {
    return this.shown.join(' | ');
  }
  private async say(kind: 'info' | 'warn' | 'error', message: string, actions: string[]): Promise<string | undefined> {
    this.shown.push(`${kind}: ${message}${actions.length ? ` [${actions.join('|')}]` : ''}`);
    return actions.includes('Create Keys') ? 'Create Keys' : this.answer(kind, message, actions);
  }
}

/** Waits until `check` holds; fails naming what never came (the same wait as the NATS tests'). */
import { waitFor } from '../support/waits';
export { waitFor as until };

/** A Deployed-view row with the labels of the rows above it (`path` ends with its own). */
export type ViewRow = RenderedItem & { path: string[] };

/** Every rendered item, depth first, with the labels of the items above it. */
export function flatten(items: RenderedItem[], above: string[] = []): ViewRow[] {
  return items.flatMap((item) => [{ ...item, path: [...above, item.label] }, ...flatten(item.children, [...above, item.label])]);
}

/** Waits for the Deployed view (its snapshot and its rows, without asking for a refresh) to satisfy `check`; returns the rows. */
export async function deployedViewWhere(api: NexTestApi, what: string, check: (snapshot: DeployedSnapshot | undefined, rows: ViewRow[]) => boolean, ms = 15000): Promise<ViewRow[]> {
  await waitFor(`the Deployed view showing ${what}`, () => check(api.deployed.snapshot(), flatten(api.deployed.tree())), ms, () => JSON.stringify(api.deployed.tree(), null, 1));
  return flatten(api.deployed.tree());
}

/**
 * Registers before/after hooks for a suite that deploys: the extension activated, a keys folder of
 * its own in the settings (and trigger cases before deploys off, unless `runCasesFirst`), and the
 * function folders it makes removed afterwards, with the connection and the local node stopped.
 */
export function deploySuite(options: { runCasesFirst?: boolean } = {}): { api: () => NexTestApi; fnFolder: (name: string, manifest: Record<string, unknown>, source?: string) => string } {
  let api: NexTestApi | undefined;
  let keys = '';
  const created: string[] = [];
  const settings = vscode.workspace.getConfiguration('nex');
  before(async () => {
    api = await activateNex();
    keys = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-keys-'));
    await settings.update('deploy.keysDir', keys, vscode.ConfigurationTarget.Workspace);
    if (!options.runCasesFirst) {
      await settings.update('deploy.runCasesFirst', false, vscode.ConfigurationTarget.Workspace);
    }
  });
  after(async () => {
    await settings.update('deploy.keysDir', undefined, vscode.ConfigurationTarget.Workspace);
    await settings.update('deploy.runCasesFirst', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    fs.rmSync(keys, { recursive: true, force: true });
    created.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
    await api?.refresh();
  });
  return {
    api: () => api!,
    fnFolder: (name, manifest, source = '(subject, payload) => subject;\n') => {
      const dir = path.join(workspaceDir(), name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'fn.js', ...manifest }, null, 2));
      fs.writeFileSync(path.join(dir, 'fn.js'), source);
      created.push(dir);
      return dir;
    },
  };
}
