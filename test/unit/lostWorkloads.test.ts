import * as assert from 'assert';
import { deployNamespace, type ValidFunction } from '../../src/core/manifest';
import type { NodeView, WorkloadView } from '../../src/explorer/deployedModel';
import { lostWorkloads } from '../../src/explorer/lostWorkloads';

/** A workspace function as the loader makes it: only the manifest's name and deploy.namespace matter here. */
function local(name: string, namespace?: string, dir = `/ws/${name}`): ValidFunction {
  return { dir, manifestPath: `${dir}/nexfunction.json`, manifest: { name, type: 'v8', source: `${name}.js`, ...(namespace ? { deploy: { namespace } } : {}) }, sourcePath: `${dir}/${name}.js`, problems: [] };
}

const NODE = 'NBLOCALNODE0000000000000000000000000000000000000000000000';

function workload(name: string, id: string, namespace = 'default'): WorkloadView {
  return { id, name, namespace, type: 'v8', hash: 'ab', runtime: '0s', description: '', uptime: '1m', nodeId: NODE };
}

/** The local node's row as the Deployed view shows it. */
function nodeRow(workloads: WorkloadView[]): NodeView {
  return { id: NODE, name: 'vscode-host', version: '0.2.7', uptime: '2m', tags: { 'nex.local': 'true' }, lameDuck: false, state: 'up', lastSeenAt: '2026-01-01T00:00:00Z', workloads };
}

describe('lostWorkloads (src/explorer/lostWorkloads)', () => {
  const greet = local('greet');
  const echo = local('echo', 'team-a');

  it('lists every workload lost, and offers to redeploy the workspace functions', () => {
    const lost = lostWorkloads(nodeRow([workload('greet', 'W1'), workload('echo', 'W2', 'team-a')]), [greet, echo]);
    assert.ok(lost);
    assert.strictEqual(lost.nodeId, NODE);
    assert.deepStrictEqual(lost.lost, [
      { id: 'W1', name: 'greet', namespace: 'default' },
      { id: 'W2', name: 'echo', namespace: 'team-a' },
    ]);
    assert.deepStrictEqual(
      lost.redeployable.map((r) => [r.workload.id, r.fn.dir]),
      [
        ['W1', '/ws/greet'],
        ['W2', '/ws/echo'],
      ],
    );
    assert.strictEqual(lost.message, 'The local node stopped: 2 deployed functions were lost (greet, echo in team-a). A Nex node does not keep workloads across restarts.');
    assert.strictEqual(lost.redeployLabel, 'Redeploy 2 functions');
    assert.strictEqual(lost.logLine, 'stopped with 2 workloads, lost with the node: greet (W1) in default, echo (W2) in team-a');
  });

  it('says nothing when the node ran nothing', () => {
    assert.strictEqual(lostWorkloads(nodeRow([]), [greet, echo]), undefined);
  });

  it('matches a function by name and by the namespace its manifest deploys to', () => {
    const lost = lostWorkloads(nodeRow([workload('greet', 'W1', 'team-a'), workload('echo', 'W2', 'default'), workload('other', 'W3')]), [greet, echo]);
    assert.ok(lost);
    assert.deepStrictEqual(lost.redeployable, [], 'greet deploys to default, echo to team-a: neither of these is theirs');
    assert.strictEqual(lost.redeployLabel, undefined, 'no button when nothing can be redeployed');
    assert.strictEqual(lost.message, 'The local node stopped: 3 deployed functions were lost (greet in team-a, echo, other). A Nex node does not keep workloads across restarts.');
  });

  it('names the ones that are not workspace functions when some are, and says one in the singular', () => {
    const lost = lostWorkloads(nodeRow([workload('greet', 'W1'), workload('other', 'W3', 'prod')]), [greet]);
    assert.ok(lost);
    assert.strictEqual(lost.redeployLabel, 'Redeploy 1 function');
    assert.strictEqual(
      lost.message,
      'The local node stopped: 2 deployed functions were lost (greet, other in prod). A Nex node does not keep workloads across restarts. other in prod is not a function of this workspace.',
    );
    const one = lostWorkloads(nodeRow([workload('greet', 'W1')]), [greet])!;
    assert.strictEqual(one.message, 'The local node stopped: 1 deployed function was lost (greet). A Nex node does not keep workloads across restarts.');
    assert.strictEqual(one.logLine, 'stopped with 1 workload, lost with the node: greet (W1) in default');
  });

  it('redeploys a function once, even when the node ran it twice', () => {
    const lost = lostWorkloads(nodeRow([workload('greet', 'W1'), workload('greet', 'W2')]), [greet])!;
    assert.strictEqual(lost.lost.length, 2);
    assert.deepStrictEqual(lost.redeployable.map((r) => r.workload.id), ['W1']);
    assert.strictEqual(lost.redeployLabel, 'Redeploy 1 function');
  });

  it('says a restart for new settings as such, and takes the node\'s own list as well as a view row', () => {
    const lost = lostWorkloads({ id: NODE, workloads: [{ id: 'W1', name: 'greet', namespace: 'default' }] }, [greet], 'restart')!;
    assert.match(lost.message, /^The local node restarted with new settings: 1 deployed function was lost \(greet\)\./);
    assert.match(lost.logLine, /^restarted with 1 workload/);
  });

  it('deploys into the manifest\'s deploy.namespace, else default', () => {
    assert.strictEqual(deployNamespace(greet), 'default');
    assert.strictEqual(deployNamespace(echo), 'team-a');
  });
});
