/**
 * Fault 6, soak: FUNCTIONS functions deployed to a local node process (the compiled `nexfn node`),
 * TRIGGERS requests spread over them by 20 requesters; the node's memory after a warm-up and at the
 * end (growth must stay under 10%), and after every function is undeployed no worker thread or file
 * descriptor is left over the count before the deploys.
 */
import { stopWorkloads } from '../../src/deploy/stopWorkloads';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import { NexControlClient } from '../../src/nex/controlClient';
import { deploy, FaultResult, jsFunction, openFds, rssMiB, Scope, threads, waitFor, within } from './support';

export function soak(functions: number, triggers: number) {
  return async (scope: Scope): Promise<FaultResult> => {
    const server = await scope.server();
    const node = await scope.nodeProcess(server.url);
    const nc = await scope.connect(server.url, 'faults-soak');
    const root = scope.tempDir('fns');
    const keysDir = scope.keysDir;
    const client = new NexControlClient(nc);
    await client.pingNode(node.nodeId);
    const keys = loadPublisherKeys({ dir: keysDir });
    // The baseline: after one deploy and its stop (the node keeps one worker for deploy checks).
    await deploy(nc, jsFunction(root, 'soakwarm', '(subject, payload) => subject;'), keysDir, { nodeId: node.nodeId });
    await new Promise((r) => setTimeout(r, 1100));
    await stopWorkloads(client, 'soakwarm', { keys, nodeId: node.nodeId });
    await new Promise((r) => setTimeout(r, 500));
    const baseline = { threads: threads(node.pid), fds: openFds(node.pid) };
    const deployStarted = Date.now();
    for (let i = 0; i < functions; i++) {
      await deploy(nc, jsFunction(root, `soak${i}`, '(subject, payload) => subject;'), keysDir, { nodeId: node.nodeId });
    }
    const deploySeconds = (Date.now() - deployStarted) / 1000;
    const run = async (count: number) => {
      let next = 0;
      let ok = 0;
      let failed = 0;
      const requester = async () => {
        for (;;) {
          const i = next++;
          if (i >= count) return;
          const outcome = await within(nc.request(`soak${i % functions}.t${i}`, '', { timeout: 10000 }), 13000);
          if (outcome !== 'hung' && 'value' in outcome && new TextDecoder().decode(outcome.value.data) === JSON.stringify(`soak${i % functions}.t${i}`)) ok++;
          else failed++;
        }
      };
      await Promise.all(Array.from({ length: 20 }, requester));
      return { ok, failed };
    };
    // Warm-up: a fifth of the triggers (the workers' heaps grow to their working size first).
    const warm = await run(triggers / 5);
    const rssWarm = rssMiB(node.pid);
    const started = Date.now();
    const main = await run(triggers);
    const seconds = (Date.now() - started) / 1000;
    const rssEnd = rssMiB(node.pid);
    const loaded = { threads: threads(node.pid), fds: openFds(node.pid) };
    // A stop needs claims issued at least one second after the deploy's.
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < functions; i++) {
      await stopWorkloads(client, `soak${i}`, { keys, nodeId: node.nodeId });
    }
    const released = await waitFor(() => threads(node.pid) <= baseline.threads && openFds(node.pid) <= baseline.fds, 10000, 200);
    const after = { threads: threads(node.pid), fds: openFds(node.pid) };
    const info = await client.info('default', node.nodeId);
    const growth = ((rssEnd - rssWarm) / rssWarm) * 100;
    const figures =
      `${functions} functions deployed in ${deploySeconds.toFixed(1)} s; ${triggers} triggers in ${seconds.toFixed(1)} s (${Math.round(triggers / seconds)}/s): ${main.ok} replies, ${main.failed} failed (warm-up ${warm.ok}/${warm.ok + warm.failed}); ` +
      `node RSS after warm-up ${rssWarm} MiB, at the end ${rssEnd} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%); threads ${baseline.threads} → ${loaded.threads} deployed → ${after.threads} undeployed; fds ${baseline.fds} → ${loaded.fds} → ${after.fds}; workloads left ${info.machines.length}`;
    const problems = [
      ...(main.failed + warm.failed > 0 ? [`${main.failed + warm.failed} triggers failed`] : []),
      ...(growth >= 10 ? [`memory grew ${growth.toFixed(1)}% (the bound is 10%)`] : []),
      ...(!released ? [`after the undeploys: ${after.threads} threads (before the deploys ${baseline.threads}), ${after.fds} fds (before ${baseline.fds})`] : []),
      ...(info.machines.length > 0 ? [`${info.machines.length} workloads left`] : []),
      ...(!node.alive() ? ['the node process died'] : []),
    ];
    return { ok: problems.length === 0, figures, problems };
  };
}
