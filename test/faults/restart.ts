/**
 * Fault 1, NATS restart under load: the local node serves a deployed function; 50 requesters send
 * 10,000 requests through the product's trigger client (triggerFunction); after 3,000 the
 * nats-server is killed with SIGKILL and, 1 s later, started again on the same port and store.
 * Every request must end within its timeout with a reply or an error: lost (neither within the
 * timeout and a grace) must be 0. The function must answer afterwards without a redeploy.
 */
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { deploy, delay, FaultResult, jsFunction, Scope, tally, within } from './support';

const REQUESTERS = 50;
const REQUESTS = 10000;
const KILL_AFTER = 3000;
const OUTAGE_MS = 1000;
const TIMEOUT_MS = 5000;
/** A request still pending this long after its timeout is lost. */
const GRACE_MS = 3000;

/** The function's reply to `subject`: the subject, as a 0.2 node sends what a function returns (JSON). */
const isEcho = (reply: Uint8Array, subject: string) => new TextDecoder().decode(reply) === JSON.stringify(subject);

export async function natsRestartUnderLoad(scope: Scope): Promise<FaultResult> {
  let server = await scope.server();
  scope.defer(() => server.stop());
  const { node } = await scope.node(server.url);
  const nc = await scope.connect(server.url, 'faults-client');
  const root = scope.tempDir('fns');
  const keysDir = scope.keysDir;
  const deployed = await deploy(nc, jsFunction(root, 'echo', '(subject, payload) => subject;'), keysDir, { nodeId: node.nodeId });

  let next = 0;
  let replies = 0;
  let wrong = 0;
  let lost = 0;
  const errors: string[] = [];
  const fastErrors: string[] = [];
  let restartedAt = 0;
  let firstGoodAfterRestart = 0;
  let killAt = 0;
  let outage: Promise<void> | undefined;

  const requester = async () => {
    for (;;) {
      const i = next++;
      if (i >= REQUESTS) {
        return;
      }
      if (i === KILL_AFTER) {
        outage = (async () => {
          killAt = Date.now();
          process.kill(server.pid, 'SIGKILL');
          await delay(OUTAGE_MS);
          server = await server.restart();
          restartedAt = Date.now();
        })();
      }
      const subject = `echo.r${i}`;
      const sent = Date.now();
      const outcome = await within(triggerFunction(nc, subject, new TextEncoder().encode(String(i)), { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS + GRACE_MS);
      if (outcome === 'hung') {
        lost++;
      } else if ('value' in outcome) {
        if (isEcho(outcome.value.reply, subject)) {
          replies++;
          if (restartedAt && !firstGoodAfterRestart && Date.now() > restartedAt) {
            firstGoodAfterRestart = Date.now();
          }
        } else {
          wrong++;
        }
      } else {
        errors.push(outcome.error.message);
        if (Date.now() - sent < TIMEOUT_MS - 100) {
          fastErrors.push(outcome.error.message);
        }
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: REQUESTERS }, requester));
  await outage;
  const seconds = (Date.now() - started) / 1000;

  // The deployed function answers without a redeploy: same workload, same node.
  const after = await within(triggerFunction(nc, 'echo.after', new TextEncoder().encode('x'), { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS + GRACE_MS);
  const answersAfter = after !== 'hung' && 'value' in after && isEcho(after.value.reply, 'echo.after');
  const sameWorkload = node.workloads.length === 1 && node.workloads[0].id === deployed.workloadId;
  const timedOut = errors.length - fastErrors.length;
  const figures =
    `${REQUESTS} requests from ${REQUESTERS} requesters in ${seconds.toFixed(1)} s: ${replies} replies, ${fastErrors.length} failed fast with an error, ` +
    `${timedOut} timed out (${TIMEOUT_MS} ms, with an error), ${lost} lost, ${wrong} wrong replies; server down ${restartedAt - killAt} ms; ` +
    `first good reply ${firstGoodAfterRestart ? firstGoodAfterRestart - restartedAt : 'never'} ms after the restart; ` +
    `deployed function answers after without a redeploy: ${answersAfter && sameWorkload ? 'yes' : 'NO'}` +
    (errors.length > 0 ? `; errors: ${tally(errors, 3)}` : '');
  const problems = [
    ...(lost > 0 ? [`${lost} requests got neither a reply nor an error`] : []),
    ...(wrong > 0 ? [`${wrong} replies were not the request's own`] : []),
    ...(!answersAfter ? [`the function does not answer after the restart: ${after === 'hung' ? 'hung' : 'error' in after ? after.error.message : 'wrong reply'}`] : []),
    ...(!sameWorkload ? ['the workload is not the one deployed before the restart'] : []),
    ...(firstGoodAfterRestart === 0 ? ['no good reply after the restart'] : []),
  ];
  return { ok: problems.length === 0, figures, problems };
}
