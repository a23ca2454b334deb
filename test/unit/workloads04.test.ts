/**
 * What the explorer and the followers make of Nex 0.4 answers (src/explorer/workloads04.ts,
 * src/deploy/feeds04.ts): which node a WPING answer belongs to, workloads and nexlets read from
 * hostile bodies without throwing, feed events and log lines in the 0.2 followers' shapes.
 */
import * as assert from 'assert';
import { headers } from '@nats-io/nats-core';
import { logLine04, parseEvent04, reply04 } from '../../src/deploy/feeds04';
import { attributeAnswers, readNexlets, readWorkload } from '../../src/explorer/workloads04';
import type { WorkloadSummary } from '../../src/nex04/types';

const summary = (id: string, metadata?: Record<string, unknown>): WorkloadSummary =>
  ({ id, name: id, runtime: '1s', start_time: '2026-01-01T00:00:00Z', tags: null, workload_lifecycle: 'service', workload_state: 'running', workload_type: 'native', ...(metadata ? { metadata } : {}) }) as WorkloadSummary;
const text = (s: string) => new TextEncoder().encode(s);
const ids = (list: readonly WorkloadSummary[] | undefined) => list?.map((w) => w.id);

describe('Nex 0.4 WPING answers placed on their nodes (attributeAnswers)', () => {
  it("places an answer by any of its workloads' metadata.node, the whole answer", () => {
    const placed = attributeAnswers([{ workloads: [summary('svc'), summary('fn', { node: 'NB' })] }, { workloads: [summary('fa', { node: 'NA' })] }], ['NA', 'NB', 'NC']);
    assert.deepStrictEqual(ids(placed.byNode.get('NB')), ['svc', 'fn']);
    assert.deepStrictEqual(ids(placed.byNode.get('NA')), ['fa']);
    assert.deepStrictEqual([placed.unplaced, placed.unattributedNodes], [[], ['NC']]);
  });

  it('gives every answer to the only node; pairs the one answer left with the one node left', () => {
    assert.deepStrictEqual(ids(attributeAnswers([{ workloads: [summary('a')] }, { workloads: [summary('b')] }], ['N1']).byNode.get('N1')), ['a', 'b']);
    const paired = attributeAnswers([{ workloads: [summary('fa', { node: 'NA' })] }, { workloads: [summary('svc')] }], ['NA', 'NB']);
    assert.deepStrictEqual(ids(paired.byNode.get('NB')), ['svc']);
    assert.deepStrictEqual([paired.unplaced, paired.unattributedNodes], [[], []]);
  });

  it('leaves unplaced what cannot be told: two anonymous answers for two nodes, or an answer naming a node that did not answer PING', () => {
    const two = attributeAnswers([{ workloads: [summary('x')] }, { workloads: [summary('y')] }], ['NA', 'NB']);
    assert.deepStrictEqual([ids(two.unplaced), two.unattributedNodes, two.byNode.size], [['x', 'y'], ['NA', 'NB'], 0]);
    const stranger = attributeAnswers([{ workloads: [summary('z', { node: 'NZ' })] }], ['NA']);
    assert.deepStrictEqual([ids(stranger.unplaced), stranger.byNode.size], [['z'], 0], 'not the only node\'s: it names another');
  });

  it('does not trust a metadata.node that is not a string token', () => {
    const placed = attributeAnswers([{ workloads: [summary('a', { node: { toString: 1 } }), summary('b', { node: 'N.A' })] }], ['NA', 'NB']);
    assert.deepStrictEqual([ids(placed.unplaced), placed.byNode.size], [['a', 'b'], 0]);
  });
});

describe('Nex 0.4 workloads and nexlets read from hostile answers', () => {
  it('a function of ours has triggers; a native workload or a v8 one without metadata.triggers is read-only', () => {
    const fn = readWorkload({ ...summary('f1', { name: 'greet', namespace: 'team', node: 'NA', triggers: 'greet.*, greet.x,,' }), workload_type: 'v8', workload_lifecycle: 'function' }, 'system', 'NA');
    assert.deepStrictEqual([fn.namespace, fn.isFunction, fn.triggers, fn.nodeId, fn.lifecycle], ['team', true, ['greet.*', 'greet.x'], 'NA', 'function']);
    const other = readWorkload({ ...summary('v1'), workload_type: 'v8' }, 'default');
    assert.deepStrictEqual([other.namespace, other.isFunction, other.triggers, other.nodeId], ['default', false, undefined, undefined]);
  });

  it('keeps only strings: objects that cannot be made strings and numbers are left out, a namespace that is no token is not used', () => {
    const hostile = { id: 'h1', name: 'h', metadata: { triggers: { toString: 1 }, namespace: 'a.b', node: 5, ok: 'yes' }, runtime: { toString: 1 }, start_time: 7, workload_type: ['v8'], workload_lifecycle: null, workload_state: { valueOf: 2 } } as unknown as WorkloadSummary;
    const w = readWorkload(hostile, 'default');
    assert.deepStrictEqual(w, { id: 'h1', name: 'h', namespace: 'default', type: '', lifecycle: '', state: '', runtime: '', startedAt: '', isFunction: false, metadata: { namespace: 'a.b', ok: 'yes' } });
  });

  it('reads nexlets from INFO, leaving out entries without an agent id and Go\'s zero time', () => {
    assert.deepStrictEqual(readNexlets({ node_agent_summaries: 'nope' }), []);
    assert.deepStrictEqual(readNexlets(null), []);
    const nexlets = readNexlets({
      node_agent_summaries: [
        null,
        { agent_id: { toString: 1 } },
        { agent_id: 'B', agent_health: 'offline', agent_last_heartbeat_time: '0001-01-01T00:00:00Z', agent_summary: { name: 5, type: 'wasm', workload_count: 'x' } },
        { agent_id: 'A', agent_health: 'healthy', agent_last_heartbeat_time: '2026-01-01T00:00:00Z', agent_summary: { name: 'fns', type: 'v8', version: '1', state: 'running', workload_count: 3 } },
      ],
    });
    assert.deepStrictEqual(nexlets, [
      { agentId: 'A', name: 'fns', type: 'v8', version: '1', health: 'healthy', state: 'running', workloadCount: 3, lastHeartbeatAt: '2026-01-01T00:00:00Z' },
      { agentId: 'B', name: '', type: 'wasm', version: '', health: 'offline', state: '', workloadCount: 0 },
    ]);
  });
});

describe('Nex 0.4 feeds in the followers\' shapes (feeds04.ts)', () => {
  it('a FUNCTIONTRIGGERED with an error is a failure of its workload; a node event is the system\'s', () => {
    const failed = parseEvent04({ subject: '$NEX.FEED.default.events.FUNCTIONTRIGGERED', data: text('{"id":"W1","namespace":"default","name":"greet","subject":"greet.x","error":"boom"}') })!;
    assert.deepStrictEqual([failed.type, failed.namespace, failed.workloadId, failed.workloadName, failed.failed, failed.generation, failed.nodeId, failed.source], ['FUNCTIONTRIGGERED', 'default', 'W1', 'greet', true, '0.4', '', 'W1']);
    const ok = parseEvent04({ subject: '$NEX.FEED.default.events.FUNCTIONTRIGGERED', data: text('{"id":"W1","name":"greet"}') })!;
    assert.strictEqual(ok.failed, undefined);
    const started = parseEvent04({ subject: '$NEX.FEED.team.events.WORKLOADSTARTED', data: text('{"id":"W2","namespace":"team","metadata":{"name":"greet","node":"NA"},"workload_type":"v8"}') })!;
    assert.deepStrictEqual([started.nodeId, started.workloadName, started.source, started.namespace], ['NA', 'greet', 'NA-W2', 'team']);
    const node = parseEvent04({ subject: '$NEX.FEED.NODE1.events.NODELAMEDUCKSET', data: text('{"id":"NODE1","time":"2026-01-01T00:00:00Z"}') })!;
    assert.deepStrictEqual([node.namespace, node.nodeId, node.source, node.workloadId], ['system', 'NODE1', 'NODE1', undefined]);
  });

  it('is nothing for a body that is not a JSON object or a subject that is not an event', () => {
    for (const [subject, body] of [
      ['$NEX.FEED.default.events.WORKLOADSTOPPED', '[]'],
      ['$NEX.FEED.default.events.WORKLOADSTOPPED', 'not json'],
      ['$NEX.FEED.default.events.WORKLOADSTOPPED', 'null'],
      ['$NEX.FEED.default.logs.W1.stdout', '{}'],
    ]) {
      assert.strictEqual(parseEvent04({ subject, data: text(body) }), undefined, `${subject} ${body}`);
    }
    const odd = parseEvent04({ subject: '$NEX.FEED.default.events.WORKLOADSTOPPED', data: text('{"id":{"toString":1},"metadata":[1],"namespace":"a.b"}') })!;
    assert.deepStrictEqual([odd.workloadId, odd.namespace, odd.nodeId], [undefined, 'default', '']);
  });

  it('reads log lines (stdout info, stderr error) and the reply headers', () => {
    assert.deepStrictEqual(logLine04({ subject: '$NEX.FEED.default.logs.W1.stderr', data: text('oops\n') }), { subject: '$NEX.FEED.default.logs.W1.stderr', nodeId: '', workloadId: 'W1', level: 'error', rawLevel: 8, text: 'oops\n', stream: 'stderr' });
    assert.strictEqual(logLine04({ subject: '$NEX.FEED.default.logs.W1.other', data: text('x') }), undefined);
    const h = headers();
    h.set('workload_id', 'W1');
    h.set('namespace', 'default');
    assert.deepStrictEqual(reply04({ headers: h }), { workloadId: 'W1', namespace: 'default' });
    h.set('error', 'boom');
    assert.deepStrictEqual(reply04({ headers: h }), { workloadId: 'W1', namespace: 'default', error: 'boom' });
    assert.strictEqual(reply04({ headers: undefined }), undefined);
  });
});
