/**
 * The extension's settings, typed, in one place. Values come from VS Code's configuration, whose
 * defaults are the ones `package.json` contributes (never copied here); the effective values are
 * logged once at start and again when they change.
 */
import { ConfigurationChangeEvent, Event, EventEmitter, LogOutputChannel, workspace as Workspace } from 'vscode';
import { LimitSources } from '../run/functionRun';
import { DisposableObject } from './lifecycle';

export type RunOnSave = 'off' | 'changedFunction' | 'all';

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

  /** Which trigger cases run on save (`nex.runOnSave`). */
  get runOnSave(): RunOnSave {
    return this.get<RunOnSave>('runOnSave');
  }

  /** The settings' part of a run's limits: below the manifest's own limits. */
  get runLimits(): LimitSources {
    return { settings: { timeoutMs: this.runTimeoutMs, memoryLimitBytes: this.runMemoryLimitMiB * 1048576 } };
  }

  /** Writes every contributed setting's effective value to the log, on one line. */
  logEffective(why = 'settings'): void {
    const config = Workspace.getConfiguration(SECTION);
    this.log?.info(`${why}: ${this.keys.map((k) => `${SECTION}.${k}=${JSON.stringify(config.get(k))}`).join(', ')}`);
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
