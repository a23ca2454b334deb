/**
 * The user-interface port: every question the extension asks, every file dialog and every progress
 * notification goes through here, so tests can script the answers and commands stay free of
 * `window.show*` calls.
 */
import { ProgressLocation, QuickPickItem, Uri, window as Window } from 'vscode';

export interface PickItem<T> extends QuickPickItem {
  value: T;
}

export interface InputOptions {
  title: string;
  prompt?: string;
  value?: string;
  placeHolder?: string;
  /** Returns a message when the value is not acceptable. */
  validate?: (value: string) => string | undefined;
  /** Hide what is typed (passwords, tokens, seeds). */
  password?: boolean;
}

export interface FileDialogOptions {
  title: string;
  /** Where the dialog starts: a folder, or (saving) the file proposed. */
  defaultPath?: string;
}

/** Work shown by a progress notification: it reports messages, and its signal aborts when the user cancels. */
export type ProgressWork<T> = (report: (message: string) => void, signal: AbortSignal) => Promise<T>;

export interface UserInterface {
  pick<T>(items: PickItem<T>[], options: { title: string; placeHolder?: string }): Promise<T | undefined>;
  input(options: InputOptions): Promise<string | undefined>;
  info(message: string, ...actions: string[]): Promise<string | undefined>;
  warn(message: string, ...actions: string[]): Promise<string | undefined>;
  error(message: string, ...actions: string[]): Promise<string | undefined>;
  /** The file to open (its path); undefined when none is chosen. A scripted UI may leave dialogs and progress out: the editor's serve then. */
  openFile?(options: FileDialogOptions): Promise<string | undefined>;
  /** Where to save (a path); undefined when cancelled. */
  saveFile?(options: FileDialogOptions): Promise<string | undefined>;
  /**
   * Runs `work` under a progress notification with a Cancel button; with `delayMs`, the
   * notification shows only when the work takes longer than that.
   */
  progress?<T>(title: string, work: ProgressWork<T>, options?: { delayMs?: number }): Promise<T>;
}

/** The port as the extension holds it: every member there. */
export type EditorUi = Required<UserInterface>;

export const vscodeUi: EditorUi = {
  async pick(items, options) {
    const picked = await Window.showQuickPick(items, { title: options.title, placeHolder: options.placeHolder, matchOnDescription: true, ignoreFocusOut: true });
    return picked?.value;
  },
  input(options) {
    return Promise.resolve(
      Window.showInputBox({
        title: options.title,
        prompt: options.prompt,
        value: options.value,
        valueSelection: options.value !== undefined ? [0, options.value.length] : undefined,
        placeHolder: options.placeHolder,
        password: options.password,
        ignoreFocusOut: true,
        validateInput: options.validate ? (v) => options.validate!(v) : undefined,
      }),
    );
  },
  info: (message, ...actions) => Promise.resolve(Window.showInformationMessage(message, ...actions)),
  warn: (message, ...actions) => Promise.resolve(Window.showWarningMessage(message, ...actions)),
  error: (message, ...actions) => Promise.resolve(Window.showErrorMessage(message, ...actions)),
  async openFile(options) {
    const picked = await Window.showOpenDialog({ canSelectMany: false, title: options.title, defaultUri: options.defaultPath ? Uri.file(options.defaultPath) : undefined });
    return picked?.[0]?.fsPath;
  },
  async saveFile(options) {
    return (await Window.showSaveDialog({ title: options.title, defaultUri: options.defaultPath ? Uri.file(options.defaultPath) : undefined }))?.fsPath;
  },
  async progress(title, work, options = {}) {
    const abort = new AbortController();
    let show: (message: string) => void = () => undefined;
    let last: string | undefined;
    const running = work((message) => {
      last = message;
      show(message);
    }, abort.signal);
    if (options.delayMs !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => false;
      const slow = await Promise.race([running.then(done, done), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), options.delayMs)))]);
      clearTimeout(timer);
      if (!slow) {
        return running;
      }
    }
    return Window.withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      show = (message) => progress.report({ message });
      if (last !== undefined) {
        show(last);
      }
      return running;
    });
  },
};

/** A scripted UI made whole: what it leaves out (dialogs, progress) is the editor's. */
export function completeUi(ui: UserInterface): EditorUi {
  return {
    pick: (items, options) => ui.pick(items, options),
    input: (options) => ui.input(options),
    info: (message, ...actions) => ui.info(message, ...actions),
    warn: (message, ...actions) => ui.warn(message, ...actions),
    error: (message, ...actions) => ui.error(message, ...actions),
    openFile: (options) => (ui.openFile ? ui.openFile(options) : vscodeUi.openFile(options)),
    saveFile: (options) => (ui.saveFile ? ui.saveFile(options) : vscodeUi.saveFile(options)),
    progress: (title, work, options) => (ui.progress ? ui.progress(title, work, options) : vscodeUi.progress(title, work, options)),
  };
}
