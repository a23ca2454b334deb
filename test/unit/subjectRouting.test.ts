import * as assert from 'assert';
import type { ValidFunction } from '../../src/core/manifest';
import { triggerOverlaps, whichHandles } from '../../src/explorer/subjectRouting';

/** A local function as the loader makes it: only the manifest's name and triggers matter here. */
function local(name: string, triggers: string[] | undefined, dir = `/ws/${name}`): ValidFunction {
  return { dir, manifestPath: `${dir}/nexfunction.json`, manifest: { name, type: 'v8', source: `${name}.js`, triggers }, sourcePath: `${dir}/${name}.js`, problems: [] };
}

const deployed = (name: string, node: string, triggers: string[]) => ({ name, node, triggers });

describe('whichHandles (src/explorer/subjectRouting)', () => {
  const orders = local('orders', ['orders.*']);
  const audit = local('audit', ['>']);
  const deep = local('deep', ['orders.new.>']);
  const untriggered = local('quiet', undefined);

  it('finds the local functions a concrete subject triggers, with the trigger that matched', () => {
    const found = whichHandles('orders.new', [], [orders, audit, deep, untriggered]);
    assert.deepStrictEqual(
      found.local.map((h) => [h.fn.manifest.name, h.trigger]),
      [
        ['orders', 'orders.*'],
        ['audit', '>'],
      ],
      '">" needs at least one more token: orders.new.> does not match orders.new',
    );
    assert.deepStrictEqual(found.deployed, []);
  });

  it('applies NATS wildcard rules: * is exactly one token, > one or more', () => {
    assert.deepStrictEqual(whichHandles('orders.new.eu', [], [orders, deep]).local.map((h) => h.fn.manifest.name), ['deep']);
    assert.deepStrictEqual(whichHandles('orders', [], [orders, deep]).local, []);
  });

  it('finds deployed workloads too, and gives back what the caller passed with them', () => {
    const onOne = { name: 'orders', node: 'one', triggers: ['orders.>'], workloadId: 'w1' };
    const onTwo = { name: 'billing', node: 'two', triggers: ['billing.*', 'orders.paid'], workloadId: 'w2' };
    const found = whichHandles('orders.paid', [onOne, onTwo], [orders]);
    assert.deepStrictEqual(
      found.deployed.map((h) => [h.fn.name, h.fn.node, h.trigger]),
      [
        ['orders', 'one', 'orders.>'],
        ['billing', 'two', 'orders.paid'],
      ],
    );
    assert.strictEqual(found.deployed[0].fn.workloadId, 'w1');
    assert.deepStrictEqual(found.local.map((h) => h.trigger), ['orders.*']);
  });

  it('finds nothing when nothing matches', () => {
    const found = whichHandles('payments.done', [deployed('orders', 'one', ['orders.>'])], [orders, deep]);
    assert.deepStrictEqual(found, { deployed: [], local: [] });
  });
});

describe('triggerOverlaps (src/explorer/subjectRouting)', () => {
  it('pairs local functions whose triggers can match one message, each pair once', () => {
    const a = local('a', ['orders.*', 'misc.x']);
    const b = local('b', ['orders.new', 'other']);
    const c = local('c', ['orders.>']);
    const d = local('d', ['billing.*']);
    const { local: pairs } = triggerOverlaps([a, b, c, d], []);
    assert.deepStrictEqual(
      pairs.map((p) => `${p.first.fn.manifest.name}:${p.first.trigger} ~ ${p.second.fn.manifest.name}:${p.second.trigger}`),
      ['a:orders.* ~ b:orders.new', 'a:orders.* ~ c:orders.>', 'b:orders.new ~ c:orders.>'],
    );
  });

  it('does not pair triggers that cannot meet: token counts differ, or literals differ', () => {
    const { local: pairs } = triggerOverlaps([local('a', ['a.*']), local('b', ['a.b.c']), local('c', ['b.*'])], []);
    assert.deepStrictEqual(pairs, []);
  });

  it('reports two folders of the same name with the same trigger', () => {
    const { local: pairs } = triggerOverlaps([local('echo', ['echo.>'], '/ws/one/echo'), local('echo', ['echo.>'], '/ws/two/echo')], []);
    assert.deepStrictEqual(pairs.map((p) => [p.first.fn.dir, p.second.fn.dir]), [['/ws/one/echo', '/ws/two/echo']]);
  });

  it('reports local triggers a deployed function of another name also answers; the deployed copy of the same name is not an overlap', () => {
    const orders = local('orders', ['orders.*']);
    const found = triggerOverlaps(
      [orders, local('quiet', undefined)],
      [deployed('orders', 'one', ['orders.*']), deployed('audit', 'two', ['>']), deployed('billing', 'two', ['billing.>'])],
    );
    assert.deepStrictEqual(found.local, []);
    assert.deepStrictEqual(
      found.deployed.map((o) => [o.local.fn.manifest.name, o.local.trigger, o.deployed.fn.name, o.deployed.fn.node, o.deployed.trigger]),
      [['orders', 'orders.*', 'audit', 'two', '>']],
    );
  });
});
