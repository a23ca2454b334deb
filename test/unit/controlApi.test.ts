import * as assert from 'assert';
import { controlSubjects, ENVELOPE_TYPES, failureEnvelope, namespaceOf, NodeError, nodeSubscriptions, openEnvelope, successEnvelope } from '../../src/nex/controlApi';
import { subjectMatches } from '../../src/core/subject';

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('Nex control API (subjects and envelopes)', () => {
  const node = 'NBXYZ';
  it('client subjects reach the node subscriptions, and only the right ones', () => {
    const subs = nodeSubscriptions(node);
    const cases: Array<[string, string]> = [
      [controlSubjects.pingAll(), subs.pingAll],
      [controlSubjects.pingNode(node), subs.pingNode],
      [controlSubjects.auction(), subs.auction],
      [controlSubjects.workloadPing('default', 'echo'), subs.workloadPing],
      [controlSubjects.info('default', node), subs.info],
      [controlSubjects.deploy('default', node), subs.deploy],
      [controlSubjects.stop('default', node), subs.stop],
      [controlSubjects.lameDuck(node), subs.lameDuck],
    ];
    for (const [sent, subscribed] of cases) {
      assert.ok(subjectMatches(subscribed, sent), `${sent} reaches ${subscribed}`);
    }
    assert.strictEqual(controlSubjects.deploy('prod', node), '$NEX.DEPLOY.prod.NBXYZ');
    assert.ok(!subjectMatches(subs.deploy, controlSubjects.deploy('default', 'NOTHER')), 'a deploy for another node does not reach this one');
    assert.strictEqual(namespaceOf(controlSubjects.info('team-a', node)), 'team-a');
  });

  it('opens envelopes: data on success, the node\'s own error text verbatim on failure', () => {
    assert.deepStrictEqual(openEnvelope(bytes(successEnvelope(ENVELOPE_TYPES.run, { id: 'w1' })), ENVELOPE_TYPES.run), { id: 'w1' });
    const failure = failureEnvelope(ENVELOPE_TYPES.run, 'Failed to deploy workload: workload type not allowed');
    assert.deepStrictEqual(failure, { type: 'io.nats.nex.v1.run_response', data: '', error: 'Failed to deploy workload: workload type not allowed' });
    assert.throws(() => openEnvelope(bytes(failure), ENVELOPE_TYPES.run), (e: unknown) => e instanceof NodeError && e.message === 'Failed to deploy workload: workload type not allowed');
    assert.throws(() => openEnvelope(bytes('nope'), ENVELOPE_TYPES.info), /not JSON.*io\.nats\.nex\.v1\.info_response/);
    assert.throws(() => openEnvelope(bytes({ type: ENVELOPE_TYPES.stop, data: {} }), ENVELOPE_TYPES.run), /replied with a io\.nats\.nex\.v1\.stop_response envelope, expected io\.nats\.nex\.v1\.run_response/);
  });
});
