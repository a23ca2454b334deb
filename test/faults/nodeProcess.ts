/**
 * A local Nex node in a process of its own, as `nexfn node --nats URL` runs it (LocalNodeHost), but
 * with the heartbeat interval given: the fault suite kills it with SIGKILL and watches the explorer
 * notice the missed heartbeats in seconds rather than the 90 s a 30 s heartbeat takes.
 * Usage: node nodeProcess.js <nats url> <state dir> <heartbeat ms> <emulate>
 */
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { EmulatedVersion } from '../../src/devnode/nodeConfig';
import { parseServers } from '../../src/nats/connection';

async function main(): Promise<void> {
  const [url, stateDir, heartbeatMs, emulate] = process.argv.slice(2);
  const host = await LocalNodeHost.start({
    stateDir,
    nats: { attach: { servers: parseServers(url) } },
    config: { emulate: (emulate ?? '0.2.7') as EmulatedVersion, nodeName: 'faults-node', heartbeatMs: Number(heartbeatMs) },
    log: (level, text) => process.stderr.write(`${level} ${text}\n`),
  });
  process.stdout.write(`  node id:  ${host.node.nodeId}\n`);
  const stop = () => void host.stop().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
