/**
 * "Nex Host Services": a webview per function that shows and shapes its host-service mocks (KV,
 * object store, messaging, HTTP) and the calls of its recent runs, live. Strict CSP with a nonce,
 * no remote resources, resources only from media/; every message from the webview is validated
 * before it touches state; values are rendered as text by the webview script.
 */
import * as fs from 'fs';
import * as path from 'path';
import { commands as Commands, Disposable, Uri, ViewColumn, WebviewPanel, window as Window, workspace as Workspace } from 'vscode';
import { isValid, ValidFunction } from '../../core/manifest';
import { applyPanelEdit, PanelMessage, PanelSnapshot, parsePanelMessage, snapshot } from '../../hostservices/panelModel';
import type { ExtensionContext } from 'vscode';
import type { FunctionCatalog } from '../functionCatalog';
import type { MockStates } from '../mockStates';
import type { RunReporter } from '../runReporter';
import type { EditorUi } from '../ui';
import { webviewHtml } from './webviewShell';

/** What the panels need from the context. */
export interface HostServicesPanelsDeps {
  readonly context: ExtensionContext;
  readonly catalog: FunctionCatalog;
  readonly mocks: MockStates;
  readonly reporter: RunReporter;
  readonly ui: EditorUi;
  readonly invoke: { runAgain(def: ValidFunction): Promise<unknown> };
}

export const HOST_SERVICES_VIEW_TYPE = 'nex.hostServices';

interface PanelState {
  functionDir: string;
}

export class HostServicesPanels implements Disposable {
  private readonly panels = new Map<string, WebviewPanel>();
  private readonly disposables: Disposable[] = [];

  constructor(private readonly deps: HostServicesPanelsDeps) {
    this.disposables.push(
      Window.registerWebviewPanelSerializer(HOST_SERVICES_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: WebviewPanel, state: PanelState | undefined) => {
          await deps.catalog.refresh();
          const def = state?.functionDir ? deps.catalog.findFor(state.functionDir) : undefined;
          if (!isValid(def) || def.manifest.type !== 'v8') {
            panel.dispose();
            return;
          }
          this.attach(panel, def);
        },
      }),
      deps.mocks.onDidChange((dir) => {
        const panel = this.panels.get(dir);
        const def = deps.catalog.findFor(dir);
        if (panel && isValid(def)) {
          void this.post(panel, def);
        }
      }),
    );
  }

  /** Opens (or reveals) the panel of a JavaScript function. */
  open(def: ValidFunction): WebviewPanel {
    const existing = this.panels.get(def.dir);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = Window.createWebviewPanel(HOST_SERVICES_VIEW_TYPE, `Host Services: ${def.manifest.name}`, { viewColumn: ViewColumn.Beside, preserveFocus: false }, this.options());
    this.attach(panel, def);
    return panel;
  }

  /** The panel's model, as the webview receives it (for tests). */
  snapshotOf(def: ValidFunction): PanelSnapshot {
    return snapshot(this.deps.mocks.for(def), this.deps.mocks.panelMeta(def));
  }

  /** Handles a message as if the webview had sent it (the same validation applies). */
  receive(def: ValidFunction, raw: unknown): Promise<string | undefined> {
    return this.handle(def, raw, this.panels.get(def.dir));
  }

  private options() {
    return { enableScripts: true, localResourceRoots: [Uri.file(path.join(this.deps.context.extensionPath, 'media'))] };
  }

  private attach(panel: WebviewPanel, def: ValidFunction): void {
    this.panels.set(def.dir, panel);
    panel.webview.options = this.options();
    panel.iconPath = Uri.file(path.join(this.deps.context.extensionPath, 'media', 'nex.svg'));
    panel.webview.html = this.html(panel, def);
    const subscriptions = [
      panel.webview.onDidReceiveMessage((raw) => void this.handle(def, raw, panel)),
      panel.onDidChangeViewState(() => panel.visible && void this.post(panel, def)),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      if (this.panels.get(def.dir) === panel) {
        this.panels.delete(def.dir);
      }
    });
  }

  private post(panel: WebviewPanel, def: ValidFunction): Thenable<boolean> {
    return panel.webview.postMessage({ type: 'state', functionDir: def.dir, snapshot: this.snapshotOf(def) });
  }

  private async handle(def: ValidFunction, raw: unknown, panel: WebviewPanel | undefined): Promise<string | undefined> {
    const parsed = parsePanelMessage(raw);
    if ('error' in parsed) {
      this.deps.reporter.output('warn', parsed.error);
      return parsed.error;
    }
    const msg: PanelMessage = parsed.message;
    const mock = this.deps.mocks.for(def);
    try {
      switch (msg.type) {
        case 'ready':
          if (panel) {
            await this.post(panel, def);
          }
          return undefined;
        case 'object.add': {
          const picked = await this.deps.ui.openFile({ title: `Add an object to ${mock.defaultObjectStore}` });
          if (picked) {
            mock.objectPut(mock.defaultObjectStore, path.basename(picked), new Uint8Array(fs.readFileSync(picked)));
            this.deps.mocks.markChanged(def);
          }
          return undefined;
        }
        case 'object.download': {
          const object = mock.objects.get(msg.bucket)?.get(msg.name);
          const target = object && (await this.deps.ui.saveFile({ title: `Save ${msg.name}`, defaultPath: path.join(def.dir, msg.name) }));
          if (object && target) {
            fs.writeFileSync(target, object.data);
          }
          return undefined;
        }
        case 'mocks.save': {
          const file = this.deps.mocks.save(def);
          this.deps.reporter.output('info', `host-service state of ${def.manifest.name} saved to ${file}`);
          return undefined;
        }
        case 'mocks.reset':
          this.deps.mocks.reset(def);
          return undefined;
        case 'mocks.export': {
          const doc = await Workspace.openTextDocument({ language: 'json', content: `${JSON.stringify({ mocks: mock.toFixture() }, null, 2)}\n` });
          await Window.showTextDocument(doc, ViewColumn.Active);
          void this.deps.ui.info('This is the current host-service state as a fixture: paste its "mocks" into a trigger case to run the case against it.');
          return undefined;
        }
        case 'run':
          // Run again: the last subject and payload, without asking; asked in the quick input when it never ran.
          if (!(await this.deps.invoke.runAgain(def))) {
            await Commands.executeCommand('nex.quickRunFunction', Uri.file(def.dir));
          }
          return undefined;
        default: {
          const what = applyPanelEdit(mock, msg);
          this.deps.reporter.output('info', `host services of ${def.manifest.name}: ${what}`);
          this.deps.mocks.markChanged(def);
          return undefined;
        }
      }
    } catch (e) {
      const message = (e as Error).message;
      void panel?.webview.postMessage({ type: 'error', message });
      return message;
    }
  }

  private html(panel: WebviewPanel, def: ValidFunction): string {
    const state: PanelState = { functionDir: def.dir };
    return webviewHtml(panel.webview, { extensionPath: this.deps.context.extensionPath, folder: 'hostServices', script: 'panel.js', stylesheet: 'panel.css', title: 'Host Services', state });
  }

  dispose(): void {
    for (const panel of this.panels.values()) {
      panel.dispose();
    }
    Disposable.from(...this.disposables).dispose();
  }
}
