/**
 * Fault 2, a node killed: `kill -9` of a local node process (the compiled `nexfn node --nats URL`)
 * while a deploy is under way, and while 20 requesters trigger its function: every client call
 * ends with a clear error within its timeout, never a hang, and the refused deploy leaves nothing
 * behind. Then the explorer (a DeployedModel) against a node process with a 500 ms heartbeat: it
 * marks the node unreachable after the missed heartbeats (nothing else re-reads meanwhile), and
 * shows it up again when a node comes back (the same state folder, so the same id).
 */
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { DeployedModel } from '../../src/explorer/deployedModel';
import { bigWasm } from './limits';
import { deploy, FaultResult, jsFunction, Scope, tally, waitFor, wasmFunction, within } from './support';

const DEPLOY_TIMEOUT_MS = 10000;
const TRIGGER_TIMEOUT_MS = 5000;
const GRACE_MS = 3000;

export async function nodeKilled(scope: Scope): Promise<FaultResult> {
  const problems: string[] = [];
  const figures: string[] = [];
  const server = await scope.server();
  const nc = await scope.connect(server.url, 'faults-kill');
  const root = scope.tempDir('fns');
  const keysDir = scope.keysDir;

  // During a deploy: a 30 MiB module, so the node is still fetching it when it is killed.
  const first = await scope.nodeProcess(server.url);
  let killedAt = 0;
  const started = Date.now();
  const during = await within(
    deploy(nc, wasmFunction(root, 'killdeploy', bigWasm(30 * 1024 * 1024)), keysDir, {
      nodeId: first.nodeId,
      deployTimeoutMs: DEPLOY_TIMEOUT_MS,
      onProgress: (p) => {
        if (p.step === 'deploy') {
          setTimeout(() => {
            killedAt = Date.now();
            first.child.kill('SIGKILL');
          }, 100);
        }
      },
    }),
    DEPLOY_TIMEOUT_MS + 30000,
  );
  const deployError = during !== 'hung' && 'error' in during ? during.error.message : undefined;
  const afterKill = killedAt ? Date.now() - killedAt : NaN;
  let stray = 'nothing';
  try {
    const { Objm } = await import('@nats-io/obj');
    const { jetstream } = await import('@nats-io/jetstream');
    const info = await (await new Objm(jetstream(nc)).open('NEXCLIFILES')).info('killdeploywasm');
    if (info && !info.deleted) stray = `the object NEXCLIFILES/killdeploywasm (${info.size} bytes)`;
  } catch {
    // no bucket
  }
  figures.push(`kill -9 during a deploy → ${during === 'hung' ? 'HUNG' : deployError ? `error "${deployError.slice(0, 120)}"` : 'deployed?!'} ${afterKill} ms after the kill (timeout ${DEPLOY_TIMEOUT_MS} ms, deploy took ${Date.now() - started} ms), left behind: ${stray}`);
  if (during === 'hung') problems.push('a deploy to a node killed during it hung');
  else if (!deployError || !/node|answer/i.test(deployError)) problems.push(`a deploy to a node killed during it: ${deployError ?? 'succeeded'}`);
  if (stray !== 'nothing') problems.push(`a deploy to a killed node left ${stray}`);

  // During triggers.
  const second = await scope.nodeProcess(server.url);
  await deploy(nc, jsFunction(root, 'slow', '(subject, payload) => { const t = Date.now(); while (Date.now() - t < 20) {} return subject; };'), keysDir, { nodeId: second.nodeId });
  let next = 0;
  let replies = 0;
  let hung = 0;
  const errors: string[] = [];
  let killAt = 0;
  const requester = async () => {
    for (;;) {
      const i = next++;
      if (i >= 400) return;
      if (i === 100) {
        killAt = Date.now();
        second.child.kill('SIGKILL');
      }
      const outcome = await within(triggerFunction(nc, `slow.${i}`, new Uint8Array(), { timeoutMs: TRIGGER_TIMEOUT_MS }), TRIGGER_TIMEOUT_MS + GRACE_MS);
      if (outcome === 'hung') hung++;
      else if ('value' in outcome) replies++;
      else errors.push(outcome.error.message);
    }
  };
  await Promise.all(Array.from({ length: 20 }, requester));
  const triggersEnded = Date.now() - killAt;
  figures.push(`kill -9 during triggers: 400 requests from 20 requesters → ${replies} replies, ${errors.length} errors, ${hung} hung; all ended ${triggersEnded} ms after the kill (timeout ${TRIGGER_TIMEOUT_MS} ms); errors: ${tally(errors, 2)}`);
  if (hung > 0) problems.push(`${hung} triggers to a killed node hung`);

  // The explorer: missed heartbeats, then a node back.
  const stateDir = scope.tempDir('hb');
  const third = await scope.nodeProcess(server.url, { stateDir, heartbeatMs: 500 });
  const model = new DeployedModel({ nc, heartbeatIntervalMs: 500, missedHeartbeats: 3, discoveryWindowMs: 300, refreshMinMs: 600000, refreshMaxMs: 600000 });
  scope.defer(() => model.dispose());
  await model.start();
  const stateOf = () => model.snapshot().nodes.find((n) => n.id === third.nodeId)?.state;
  const upFirst = await waitFor(() => stateOf() === 'up', 5000);
  const killed = Date.now();
  third.child.kill('SIGKILL');
  const unreachable = await waitFor(() => stateOf() === 'unreachable', 10000);
  const unreachableMs = Date.now() - killed;
  const reason = model.snapshot().nodes.find((n) => n.id === third.nodeId)?.stateReason ?? '';
  const backAt = Date.now();
  const fourth = await scope.nodeProcess(server.url, { stateDir, heartbeatMs: 500 });
  const back = await waitFor(() => stateOf() === 'up', 10000);
  const backMs = Date.now() - backAt;
  figures.push(
    `explorer (heartbeat 500 ms, 3 missed): node up ${upFirst ? 'yes' : 'NO'}; unreachable ${unreachable ? `${unreachableMs} ms after kill -9 ("${reason.slice(0, 80)}")` : 'NEVER'}; a node back (same id ${fourth.nodeId === third.nodeId ? 'yes' : 'no'}) shown up ${back ? `${backMs} ms after it was started` : 'NEVER'}`,
  );
  if (!upFirst || !unreachable || !back) problems.push(`explorer: up ${upFirst}, unreachable ${unreachable}, back ${back}`);
  return { ok: problems.length === 0, figures: figures.join('; '), problems };
}
