/**
 * Deploy records (src/deploy/deployRecords.ts) on a real nats-server with JetStream, from a server
 * where no deploy has made the bucket yet: reading finds nothing and throws nothing, the first write
 * makes the bucket, a reader that found nothing before finds the record now, and a watch hears of
 * records written later; a stop's delete is quiet where there is nothing to delete.
 */
import * as assert from 'assert';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { deleteDeployRecord, type DeployRecord, DeployRecordReader, parseDeployRecord, writeDeployRecord } from '../../src/deploy/deployRecords';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

const record = (workloadId: string, triggers = ['a.*']): DeployRecord => ({
  v: 1,
  workloadId,
  name: 'fn',
  namespace: 'default',
  nodeId: 'NNODE',
  type: 'v8',
  triggers,
  hash: 'ab',
  issuer: 'AISSUER',
  deployedAt: '2026-12-07T00:00:00.000Z',
});

describe('deploy records (src/deploy/deployRecords) on a fresh nats-server', function () {
  this.timeout(30000);
  let server: NatsServerHandle;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('reads nothing before the first deploy, then the record the first write made, and hears of later ones through its watch', async () => {
    const heard: DeployRecord[] = [];
    let onHeard: () => void = () => undefined;
    const reader = new DeployRecordReader(nc, {
      onRecord: (r) => {
        heard.push(r);
        onHeard();
      },
    });
    try {
      await reader.load(['w1']);
      assert.strictEqual(reader.get('w1'), undefined, 'no bucket yet: unknown, not an error');
      await deleteDeployRecord(nc, 'w1'); // a stop with no bucket: nothing to remove

      await writeDeployRecord(nc, record('w1'));
      await reader.load(['w1']);
      assert.deepStrictEqual(reader.get('w1'), record('w1'), 'the reader opens the bucket once it exists');
      assert.deepStrictEqual(
        heard.map((r) => r.workloadId),
        ['w1'],
        'a record found by a load is told as a watched one is (the first record comes before the watch, which starts with the bucket)',
      );

      const later = new Promise<void>((resolve) => (onHeard = () => heard.some((r) => r.workloadId === 'w2') && resolve()));
      await writeDeployRecord(nc, record('w2', ['b.>']));
      await later;
      assert.deepStrictEqual(reader.get('w2')?.triggers, ['b.>'], 'known from the watch, with no load');

      await deleteDeployRecord(nc, 'w2');
      const fresh = new DeployRecordReader(nc);
      await fresh.load(['w1', 'w2']);
      assert.deepStrictEqual([fresh.get('w1')?.workloadId, fresh.get('w2')], ['w1', undefined], 'the deleted record is gone');
      fresh.close();
    } finally {
      reader.close();
    }
  });

  it('takes only records of its own format', () => {
    const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
    assert.deepStrictEqual(parseDeployRecord(bytes(record('w3'))), record('w3'));
    assert.strictEqual(parseDeployRecord(bytes('not json')), undefined);
    assert.strictEqual(parseDeployRecord(bytes({ ...record('w3'), v: 2 })), undefined);
    assert.strictEqual(parseDeployRecord(bytes({ ...record('w3'), triggers: 'a.*' })), undefined);
    assert.strictEqual(parseDeployRecord(bytes({ ...record('w3'), triggers: [1] })), undefined);
    assert.strictEqual(parseDeployRecord(bytes({ ...record('w3'), name: undefined })), undefined);
  });
});
