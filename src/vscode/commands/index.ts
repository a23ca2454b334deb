/**
 * Every command of the extension, as a record of factories: a command id → a function that, given
 * the context, makes the handler. `registerCommands` registers them all, each wrapped once so that
 * a failure becomes one clear message plus a log line with the detail.
 */
import { commands as Commands, Disposable } from 'vscode';
import { formatProblem, ProblemError } from '../../core/problems';
import { BuildFailedError } from '../../toolchain/buildRunner';
import type { ConnectionTarget } from '../connections/connectionManager';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';
import { addConnectionCommand, connectCommand, disconnectCommand, editConnectionCommand, removeConnectionCommand } from './connections';
import { debugFunctionCommand, debugTriggerCaseCommand } from './debugFunction';
import { deployFunctionCommand, previewDeployCommand, showIssuerKeyCommand, undeployFunctionCommand } from './deploy';
import { showDeployedLogsCommand, triggerDeployedCommand } from './deployedFunction';
import { recordTriggerCasesCommand } from './record';
import { addDeployedNamespaceCommand, copyDeployedIdCommand, refreshDeployedCommand, removeDeployedNamespaceCommand, revealLocalFunctionCommand, showNodeInfoCommand } from './deployedView';
import { resetMocksCommand, saveMocksCommand, showHostServicesCommand } from './hostServices';
import { startLocalNodeCommand, stopLocalNodeCommand } from './localNode';
import { NewFunctionAnswers, newFunctionCommand } from './newFunction';
import { quickRunFunctionCommand, runFunctionCommand } from './runFunction';
import { runTriggerCaseCommand, runTriggerCasesCommand, runTriggerPickCommand, saveAsTriggerCaseCommand } from './runTriggerCases';
import { whichFunctionCommand } from './whichFunction';
import { cloneWorkloadCommand, lameDuckNodeCommand } from './deployed04';
import { openAt } from '../runReporter';

// Handlers take whatever VS Code passes (tree nodes, URIs, scripted arguments).
export type CommandFactory = (ext: NexExtension) => (...args: any[]) => unknown;

export const COMMANDS = {
  'nex.newFunction': (ext) => (preset?: Partial<NewFunctionAnswers>) => newFunctionCommand(ext, preset),
  'nex.runFunction': (ext) => (arg) => runFunctionCommand(ext, arg),
  'nex.quickRunFunction': (ext) => (arg) => quickRunFunctionCommand(ext, arg),
  'nex.debugFunction': (ext) => (arg) => debugFunctionCommand(ext, arg),
  'nex.debugTriggerCase': (ext) => (id: string) => debugTriggerCaseCommand(ext, id),
  'nex.refreshFunctions': (ext) => () => ext.catalog.refresh(),
  'nex.showOutput': (ext) => () => ext.log.show(),
  'nex.openLocation': () => (file: string, line?: number) => openAt(file, line),
  'nex.resetMocks': (ext) => (arg?: FunctionNode) => resetMocksCommand(ext, arg),
  'nex.saveMocks': (ext) => (arg?: FunctionNode) => saveMocksCommand(ext, arg),
  'nex.runTriggerCases': (ext) => (arg) => runTriggerCasesCommand(ext, arg),
  'nex.runTriggerCase': (ext) => (id: string) => runTriggerCaseCommand(ext, id),
  'nex.runTriggerPick': (ext) => (arg: { function: string }) => runTriggerPickCommand(ext, arg),
  'nex.saveAsTriggerCase': (ext) => () => saveAsTriggerCaseCommand(ext),
  'nex.showHostServices': (ext) => (arg) => showHostServicesCommand(ext, arg),
  'nex.startLocalNode': (ext) => () => startLocalNodeCommand(ext),
  'nex.stopLocalNode': (ext) => () => stopLocalNodeCommand(ext),
  'nex.showLocalNodeLog': (ext) => () => ext.localNode.showLog(),
  'nex.connect': (ext) => (target?: ConnectionTarget) => connectCommand(ext, target),
  'nex.disconnect': (ext) => () => disconnectCommand(ext),
  'nex.addConnection': (ext) => () => addConnectionCommand(ext),
  'nex.editConnection': (ext) => (name?: string) => editConnectionCommand(ext, typeof name === 'string' ? name : undefined),
  'nex.removeConnection': (ext) => (name?: string) => removeConnectionCommand(ext, typeof name === 'string' ? name : undefined),
  'nex.deployFunction': (ext) => (arg) => deployFunctionCommand(ext, arg),
  'nex.undeployFunction': (ext) => (arg) => undeployFunctionCommand(ext, arg),
  'nex.triggerDeployed': (ext) => (arg) => triggerDeployedCommand(ext, arg),
  'nex.showDeployedLogs': (ext) => (arg) => showDeployedLogsCommand(ext, arg),
  'nex.showIssuerKey': (ext) => () => showIssuerKeyCommand(ext),
  'nex.previewDeploy': (ext) => (arg) => previewDeployCommand(ext, arg),
  'nex.recordTriggerCases': (ext) => (arg) => recordTriggerCasesCommand(ext, arg),
  'nex.refreshDeployed': (ext) => () => refreshDeployedCommand(ext),
  'nex.showNodeInfo': (ext) => (item) => showNodeInfoCommand(ext, item),
  'nex.copyDeployedId': (ext) => (item) => copyDeployedIdCommand(ext, item),
  'nex.revealLocalFunction': (ext) => (item) => revealLocalFunctionCommand(ext, item),
  'nex.whichFunction': (ext) => (arg) => whichFunctionCommand(ext, arg),
  'nex.addDeployedNamespace': (ext) => (arg) => addDeployedNamespaceCommand(ext, arg),
  'nex.removeDeployedNamespace': (ext) => (item) => removeDeployedNamespaceCommand(ext, item),
  'nex.lameDuckNode': (ext) => (item) => lameDuckNodeCommand(ext, item),
  'nex.cloneWorkload': (ext) => (item) => cloneWorkloadCommand(ext, item),
} satisfies Record<string, CommandFactory>;

/** Registers every command, each wrapped once for errors; returns their registrations. */
export function registerCommands(ext: NexExtension): Disposable {
  return Disposable.from(
    ...Object.entries(COMMANDS).map(([id, factory]) => {
      const handler = (factory as CommandFactory)(ext);
      return Commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (e) {
          reportCommandError(ext, id, e);
          return undefined;
        }
      });
    }),
  );
}

function reportCommandError(ext: NexExtension, id: string, e: unknown): void {
  if (e instanceof BuildFailedError) {
    void ext.ui.error(`Nex: ${e.message}`, 'Show Output').then((c) => c && ext.log.show());
  } else if (e instanceof ProblemError) {
    for (const p of e.problems) {
      ext.log.error(formatProblem(p));
    }
    void ext.ui.error(e.problems.map(formatProblem).join('; '));
  } else {
    ext.log.error(`${id} failed: ${(e as Error)?.stack ?? String(e)}`);
    void ext.ui.error(`Nex: ${(e as Error)?.message ?? String(e)}`, 'Show Output').then((c) => c && ext.log.show());
  }
}
