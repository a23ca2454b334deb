/**
 * "Nex: Run Function…" as a panel per function (the place to run a function by hand): a subject
 * field that offers the function's triggers, a multi-line payload editor (text, JSON, base64 or a
 * file), its trigger cases and recent payloads as samples, Run (Ctrl+Enter), Run again and Save as
 * Trigger Case; the response beside it (the reply as JSON, text or hex with its size, or the error
 * with a link to its line; duration, console output, host calls, fidelity hints). Runs go through
 * the editor's run service (the function's host-service state), and the output channel keeps the log.
 * Same rules as the host-services panel: strict CSP with a nonce, resources from media/ only, every
 * message validated (src/run/invokeModel.ts), values rendered as text, state kept across reloads.
 */
import * as path from 'path';
import { Disposable, ExtensionContext, Uri, ViewColumn, WebviewPanel, window as Window } from 'vscode';
import { isValid, ValidFunction } from '../../core/manifest';
import { ProblemError } from '../../core/problems';
import type { FunctionRunResult } from '../../run/functionRun';
import {
  decodeInvokePayload,
  defaultSubject,
  InvokePayload,
  InvokeResponse,
  invokeResponse,
  InvokeSample,
  parseInvokeMessage,
  recentSample,
  subjectSuggestions,
} from '../../run/invokeModel';
import { BuildFailedError } from '../../toolchain/buildRunner';
import { caseSamples } from '../../triggers/caseSamples';
import type { TriggerCaseModel } from '../../triggers/caseModel';
import type { Config } from '../config';
import type { FunctionCatalog } from '../functionCatalog';
import { openAt, type RunReporter } from '../runReporter';
import type { RunService } from '../runService';
import type { EditorUi } from '../ui';
import { webviewHtml } from './webviewShell';

export const INVOKE_VIEW_TYPE = 'nex.invoke';
const MAX_RECENT = 8;

/** What the panels need from the context. */
export interface InvokePanelsDeps {
  readonly context: ExtensionContext;
  readonly catalog: FunctionCatalog;
  readonly config: Config;
  readonly reporter: RunReporter;
  readonly runs: RunService;
  /** The function's trigger cases, offered as samples. */
  readonly cases: TriggerCaseModel;
  readonly ui: EditorUi;
}

interface PanelState {
  functionDir: string;
}

export class InvokePanels implements Disposable {
  private readonly panels = new Map<string, WebviewPanel>();
  private readonly responses = new Map<string, { response: InvokeResponse; result: FunctionRunResult }>();
  private readonly disposables: Disposable[] = [];

  constructor(private readonly deps: InvokePanelsDeps) {
    this.disposables.push(
      Window.registerWebviewPanelSerializer(INVOKE_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: WebviewPanel, state: PanelState | undefined) => {
          await deps.catalog.refresh();
          const def = state?.functionDir ? deps.catalog.findFor(state.functionDir) : undefined;
          if (!isValid(def)) {
            panel.dispose();
            return;
          }
          this.attach(panel, def);
        },
      }),
    );
  }

  /** Opens (or reveals) the panel of a function. */
  open(def: ValidFunction): WebviewPanel {
    const existing = this.panels.get(def.dir);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = Window.createWebviewPanel(INVOKE_VIEW_TYPE, `Run ${def.manifest.name}`, { viewColumn: ViewColumn.Beside, preserveFocus: false }, this.options());
    this.attach(panel, def);
    return panel;
  }

  /** Handles a message as if the panel's webview had sent it (the same validation applies); for tests. */
  async receive(def: ValidFunction, raw: unknown): Promise<InvokeResponse | string | undefined> {
    return this.handle(def, raw, this.panels.get(def.dir));
  }

  isOpen(functionDir: string): boolean {
    return this.panels.has(functionDir);
  }

  /** Runs the function again with the last subject and payload it ran with, without asking; undefined when it never ran (else the response, or why it could not run). */
  async runAgain(def: ValidFunction): Promise<InvokeResponse | string | undefined> {
    const last = this.deps.runs.lastInput(def);
    if (!last) {
      return undefined;
    }
    return this.run(def, last.subject, last.payload, this.panels.get(def.dir));
  }

  private options() {
    return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [Uri.file(path.join(this.deps.context.extensionPath, 'media'))] };
  }

  private attach(panel: WebviewPanel, def: ValidFunction): void {
    this.panels.set(def.dir, panel);
    panel.webview.options = this.options();
    panel.iconPath = Uri.file(path.join(this.deps.context.extensionPath, 'media', 'nex.svg'));
    panel.webview.html = this.html(panel, def);
    const subscription = panel.webview.onDidReceiveMessage((raw) => void this.handle(def, raw, panel));
    panel.onDidDispose(() => {
      subscription.dispose();
      if (this.panels.get(def.dir) === panel) {
        this.panels.delete(def.dir);
      }
    });
  }

  private recentKey(def: ValidFunction): string {
    return `nex.invoke.recent:${def.dir}`;
  }

  private samples(def: ValidFunction): InvokeSample[] {
    return [...caseSamples(def.dir, this.deps.cases.filesOf(def)), ...(this.deps.context.workspaceState.get<InvokeSample[]>(this.recentKey(def)) ?? [])];
  }

  /** What the panel starts with: the subjects it offers and the default, the payload, the samples. */
  initMessage(def: ValidFunction) {
    const last = this.deps.runs.lastInput(def);
    return {
      type: 'init' as const,
      functionName: def.manifest.name,
      kind: def.manifest.type === 'v8' ? `JavaScript (${def.manifest.engine ?? this.deps.config.runEngine})` : 'WebAssembly',
      profile: def.manifest.compat ?? 'docs',
      triggers: def.manifest.triggers ?? [],
      suggestions: subjectSuggestions(def),
      subject: defaultSubject(def, last?.subject),
      payload: last?.payload ?? { kind: 'text', text: '' },
      samples: this.samples(def),
      response: this.responses.get(def.dir)?.response,
    };
  }

  private init(panel: WebviewPanel, def: ValidFunction): Thenable<boolean> {
    return panel.webview.postMessage(this.initMessage(def));
  }

  private async handle(def: ValidFunction, raw: unknown, panel: WebviewPanel | undefined): Promise<InvokeResponse | string | undefined> {
    const parsed = parseInvokeMessage(raw);
    if ('error' in parsed) {
      this.deps.reporter.output('warn', parsed.error);
      return parsed.error;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'ready':
        if (panel) {
          await this.init(panel, def);
        }
        return undefined;
      case 'run':
        return this.run(def, msg.subject, msg.payload, panel);
      case 'runAgain': {
        const again = await this.runAgain(def);
        if (!again) {
          void panel?.webview.postMessage({ type: 'refused', message: `${def.manifest.name} has not run from here yet: fill in a subject and a payload and press Run` });
          return 'nothing to run again';
        }
        return again;
      }
      case 'saveCase':
        try {
          await this.deps.runs.saveAsCase(this.responses.get(def.dir)?.result);
        } catch (e) {
          void this.deps.ui.error(`Nex: ${(e as Error).message}`);
          return (e as Error).message;
        }
        if (panel) {
          await this.init(panel, def); // the new case is a sample now
        }
        return undefined;
      case 'openError': {
        const error = this.responses.get(def.dir)?.result.outcome.error;
        const entry = this.responses.get(def.dir)?.result.entryPath;
        if (error?.line !== undefined && entry) {
          await openAt(entry, error.line, error.column);
        }
        return undefined;
      }
      case 'pickFile': {
        const picked = await this.deps.ui.openFile({ title: `The payload of ${def.manifest.name}: a file`, defaultPath: def.dir });
        if (picked && panel) {
          await panel.webview.postMessage({ type: 'file', path: path.relative(def.dir, picked) || picked });
        }
        return undefined;
      }
    }
  }

  private async run(def: ValidFunction, subject: string, payload: InvokePayload, panel: WebviewPanel | undefined): Promise<InvokeResponse | string> {
    const decoded = decodeInvokePayload(payload, def.dir);
    if ('error' in decoded) {
      // A refused payload is not remembered as the default.
      void panel?.webview.postMessage({ type: 'refused', message: decoded.error });
      return decoded.error;
    }
    void panel?.webview.postMessage({ type: 'running' });
    let result: FunctionRunResult;
    try {
      result = await this.deps.runs.run(def, subject, decoded.bytes, 'panel');
    } catch (e) {
      const message = e instanceof BuildFailedError || e instanceof ProblemError ? e.message : `the run failed: ${(e as Error).message}`;
      void panel?.webview.postMessage({ type: 'refused', message });
      return message;
    }
    const response = invokeResponse(def, result);
    this.responses.set(def.dir, { response, result });
    if (result.outcome.error?.kind !== 'invalidInput') {
      await this.remember(def, subject, payload);
    }
    void panel?.webview.postMessage({ type: 'result', response, samples: this.samples(def) });
    return response;
  }

  private async remember(def: ValidFunction, subject: string, payload: InvokePayload): Promise<void> {
    const state = this.deps.context.workspaceState;
    await this.deps.runs.rememberInput(def, { subject, payload });
    const sample = recentSample(subject, payload);
    const recent = (state.get<InvokeSample[]>(this.recentKey(def)) ?? []).filter((s) => !(s.subject === subject && s.payload.kind === payload.kind && s.payload.text === payload.text));
    await state.update(this.recentKey(def), [sample, ...recent].slice(0, MAX_RECENT));
  }

  private html(panel: WebviewPanel, def: ValidFunction): string {
    const state: PanelState = { functionDir: def.dir };
    return webviewHtml(panel.webview, { extensionPath: this.deps.context.extensionPath, folder: 'invoke', script: 'invoke.js', stylesheet: 'invoke.css', title: `Run ${def.manifest.name}`, state });
  }

  dispose(): void {
    for (const panel of this.panels.values()) {
      panel.dispose();
    }
    Disposable.from(...this.disposables).dispose();
  }
}
