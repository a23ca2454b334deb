/**
 * The user-interface port: every question the extension asks goes through here, so tests can
 * script the answers and commands stay free of `window.show*` calls.
 */
import { window as Window, QuickPickItem } from 'vscode';

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

export interface UserInterface {
  pick<T>(items: PickItem<T>[], options: { title: string; placeHolder?: string }): Promise<T | undefined>;
  input(options: InputOptions): Promise<string | undefined>;
  info(message: string, ...actions: string[]): Promise<string | undefined>;
  warn(message: string, ...actions: string[]): Promise<string | undefined>;
  error(message: string, ...actions: string[]): Promise<string | undefined>;
}

export const vscodeUi: UserInterface = {
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
};
