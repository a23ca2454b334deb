/**
 * The extension's settings, typed, in one place. Values come from VS Code's configuration, whose
 * defaults are the ones `package.json` contributes (never copied here); the effective values are
 * logged once at start and again when they change.
 */
import { ConfigurationChangeEvent, Event, EventEmitter, LogOutputChannel, workspace as Workspace } from 'vscode';
import { EmulatedVersion } from '../devnode/nodeConfig';
import { LimitSources } from '../run/functionRun';
import type { JsEngine } from '../core/compat';
import { DisposableObject } from './lifecycle';

export type RunOnSave = 'off' | 'changedFunction' | 'all';

/** The `nex.localNode.*` settings: how the editor's local Nex node starts. No secrets here. */
export interface LocalNodeSettings {
  /** Start the node when a trusted workspace opens (or is trusted). */
  startWithWorkspace: boolean;
  /** The Nex version the node behaves as (checked by the node's owner: settings files can hold anything). */
  emulate: EmulatedVersion;
  /** Comma-separated NATS URLs to attach to; empty: start a private nats-server. */
  natsUrl: string;
  /** Where nats-server is; empty: found on PATH. */
  natsServerPath: string;
  /** Issuers accepted besides the user's own when attached to `natsUrl`. */
  validIssuers: string[];
}

/** The settings a running local node is restarted for when they change. */
const LOCAL_NODE_RESTART_KEYS = ['localNode.emulate', 'localNode.natsUrl', 'localNode.natsServerPath', 'localNode.validIssuers'];

const SECTION = 'nex';

export class Config extends DisposableObject {
  private readonly changed = this.register(new EventEmitter<ConfigurationChangeEvent>());
  /** Fires when any `nex.*` setting changes. */
  readonly onDidChange: Event<ConfigurationChangeEvent> = this.changed.event;

  /** @param keys the settings package.json contributes (without the "nex." prefix), for the log. */
  constructor(
    private readonly keys: readonly string[],
    private readonly log?: LogOutputChannel,
  ) {
    super();
    this.register(
      Workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) {
          this.logEffective('settings changed');
          this.changed.fire(e);
        }
      }),
    );
  }

  /** Time limit of a local run, in ms (`nex.run.timeoutMs`). */
  get runTimeoutMs(): number {
    return this.get<number>('run.timeoutMs');
  }

  /** Memory limit of a local run, in MiB (`nex.run.memoryLimitMiB`). */
  get runMemoryLimitMiB(): number {
    return this.get<number>('run.memoryLimitMiB');
  }

  /** The local JavaScript engine when the manifest names none (`nex.run.engine`). */
  get runEngine(): JsEngine {
    return this.get<JsEngine>('run.engine');
  }

  /** Which trigger cases run on save (`nex.runOnSave`). */
  get runOnSave(): RunOnSave {
    return this.get<RunOnSave>('runOnSave');
  }

  /** How the local Nex node starts (`nex.localNode.*`). */
  get localNode(): LocalNodeSettings {
    return {
      startWithWorkspace: this.get<boolean>('localNode.startWithWorkspace'),
      emulate: this.get<EmulatedVersion>('localNode.emulate'),
      natsUrl: this.get<string>('localNode.natsUrl').trim(),
      natsServerPath: this.get<string>('localNode.natsServerPath').trim(),
      validIssuers: (this.get<unknown[] | undefined>('localNode.validIssuers') ?? []).filter((k): k is string => typeof k === 'string' && k.trim() !== ''),
    };
  }

  /** True when a change means a running local node must restart to apply it. */
  affectsLocalNodeRestart(e: ConfigurationChangeEvent): boolean {
    return LOCAL_NODE_RESTART_KEYS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
  }

  /** Where the issuer and publisher keys are (`nex.deploy.keysDir`; empty: ~/.nex, as the nex CLI). */
  get deployKeysDir(): string {
    return this.get<string>('deploy.keysDir').trim();
  }

  /** Run a function's trigger cases before deploying it (`nex.deploy.runCasesFirst`). */
  get deployRunCasesFirst(): boolean {
    return this.get<boolean>('deploy.runCasesFirst');
  }

  /** The settings' part of a run's limits: below the manifest's own limits. */
  get runLimits(): LimitSources {
    return { settings: { timeoutMs: this.runTimeoutMs, memoryLimitBytes: this.runMemoryLimitMiB * 1048576 }, engineSetting: this.runEngine };
  }

  /** Writes every contributed setting's effective value to the log, on one line. */
  logEffective(why = 'settings'): void {
    const config = Workspace.getConfiguration(SECTION);
    // A URL pasted with credentials in it (refused where it is used) still never reaches the log.
    const shown = (value: unknown) => JSON.stringify(value)?.replace(/\/\/[^/@"\s]+@/g, '//***@');
    this.log?.info(`${why}: ${this.keys.map((k) => `${SECTION}.${k}=${shown(config.get(k))}`).join(', ')}`);
  }

  private get<T>(key: string): T {
    const value = Workspace.getConfiguration(SECTION).get<T>(key);
    if (value === undefined) {
      throw new Error(`the setting ${SECTION}.${key} has no default in package.json`);
    }
    return value;
  }
}

/** The setting keys a package.json contributes under "nex.", without the prefix. */
export function contributedSettingKeys(packageJson: { contributes?: { configuration?: { properties?: Record<string, unknown> } } }): string[] {
  return Object.keys(packageJson.contributes?.configuration?.properties ?? {})
    .filter((k) => k.startsWith(`${SECTION}.`))
    .map((k) => k.slice(SECTION.length + 1));
}
