/**
 * A stand-in for the `vscode` module, so an editor command can run in a plain Node test against a
 * real nats-server: anything not stubbed is an inert object or class; output channels record their
 * lines. Install it before the command's module is first required.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
import Module = require('module');

export interface RecordedChannel {
  name: string;
  lines: string[];
  shown: number;
  disposed: boolean;
}

export interface VscodeStub {
  channels: RecordedChannel[];
}

/** Anything: callable, constructible, extendable, and every property is another one of these. */
function inert(): unknown {
  const target = function () {};
  return new Proxy(target, {
    get: (t, key) => (key === 'prototype' ? t.prototype : key === Symbol.toPrimitive ? () => '' : key === 'then' ? undefined : inert()),
    apply: () => inert(),
    construct: () => ({}),
  });
}

export function installVscodeStub(): VscodeStub {
  const stub: VscodeStub = { channels: [] };
  const createOutputChannel = (name: string) => {
    const channel: RecordedChannel = { name, lines: [], shown: 0, disposed: false };
    stub.channels.push(channel);
    const write = (level: string) => (text: string) => channel.lines.push(`${level} ${text}`);
    return { name, trace: write('trace'), debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), appendLine: write('info'), show: () => channel.shown++, dispose: () => (channel.disposed = true) };
  };
  const window = new Proxy({ createOutputChannel }, { get: (t, key) => (key in t ? t[key as keyof typeof t] : inert()) });
  const vscode = new Proxy({ window }, { get: (t, key) => (key in t ? t[key as keyof typeof t] : key === '__esModule' ? false : inert()) });
  const original = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? vscode : original.call(this, request, ...rest);
  };
  return stub;
}
