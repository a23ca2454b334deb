/**
 * nexfn nexlet: the functions nexlet in the foreground. It registers with a Nex 0.4 node of the
 * nexus as a remote agent (the node must allow remote agent registration), runs the JavaScript and
 * WebAssembly functions the node starts on it, and stops them and deregisters on Ctrl-C.
 */
import { Command } from 'commander';
import { FunctionsNexlet } from '../nexlet/functionsNexlet';
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from './connectionFlags';
import type { CliIo } from './cliIo';
import { stopSignal } from './stopSignal';

export interface NexletFlags extends ConnectionFlags {
  nexus: string;
  name: string;
  allowV8?: boolean;
}

async function nexletCommand(flags: NexletFlags, io: CliIo, version: string): Promise<number> {
  const { nc } = await connectFromFlags(flags);
  const signal = stopSignal(io);
  let nexlet: FunctionsNexlet;
  try {
    nexlet = await FunctionsNexlet.start({
      nc,
      nexus: flags.nexus,
      name: flags.name,
      version,
      allowV8: flags.allowV8,
      log: (level, text) => io.stderr(`${level === 'info' ? '' : `${level}: `}${text}\n`),
    });
  } catch (e) {
    signal.release();
    await nc.close().catch(() => undefined);
    throw e;
  }
  const registered = nexlet.registered!;
  io.stdout(`functions nexlet ${flags.name} registered with node ${registered.nodeId} (nexus ${flags.nexus})\n`);
  io.stdout(`  JavaScript (type v8): agent ${registered.agents.v8}, on ${flags.allowV8 ? 'V8 (--allow-v8: NOT a sandbox)' : 'QuickJS (a sandbox)'}\n`);
  io.stdout(`  WebAssembly (type wasm): agent ${registered.agents.wasm}\n`);
  io.stdout(`  xkey ${nexlet.xkey.getPublicKey()} (seal a start request's environment to it)\n`);
  io.stdout('Ctrl-C stops it and the functions it runs\n');
  await signal.stopped;
  signal.release();
  await nexlet.stop();
  await nc.close().catch(() => undefined);
  io.stdout('functions nexlet stopped\n');
  return 0;
}

/** Adds `nexfn nexlet` to the program. */
export function registerNexletCommand(program: Command, io: CliIo, setExitCode: (code: number) => void, version: string): void {
  withConnectionFlags(program.command('nexlet'))
    .description('run the functions nexlet: registers with a Nex 0.4 node as a remote agent and runs JavaScript (type v8) and WebAssembly (type wasm) functions deployed to it')
    .option('--nexus <name>', "the node's nexus (nex node up --nexus)", 'nexus')
    .option('--name <name>', 'the agent name the node lists', 'nexfn-functions')
    .option('--allow-v8', 'run JavaScript on V8 (faster, NOT a sandbox: deployed code could reach this process) instead of QuickJS')
    .action(async (flags: NexletFlags) => {
      try {
        setExitCode(await nexletCommand(flags, io, version));
      } catch (e) {
        io.stderr(`nexfn nexlet: ${(e as Error).message}\n`);
        setExitCode(1);
      }
    });
}
