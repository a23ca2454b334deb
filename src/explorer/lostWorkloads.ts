/**
 * What a node that stopped took with it: a Nex node keeps no workloads across a restart (the local
 * node neither, as a real one), so every workload it ran is gone. Says which, and which of them are
 * functions of the workspace that can be deployed again. Pure: the editor shows the result
 * (src/vscode/localNode/lostWorkloadsNotice.ts).
 */
import { plural } from '../core/bytes';
import { deployNamespace, type ValidFunction } from '../core/manifest';
import type { NodeView, WorkloadView } from './deployedModel';
import { DEFAULT_NAMESPACE } from '../core/subject';

/** The node as it was just before it stopped: a Deployed view row (NodeView) or the node's own list. */
export type StoppedNode = Pick<NodeView, 'id' | 'name'> & { workloads: ReadonlyArray<Pick<WorkloadView, 'id' | 'name' | 'namespace'>> };

export type LostWorkload = Pick<WorkloadView, 'id' | 'name' | 'namespace'>;

export interface LostWorkloads {
  nodeId: string;
  /** Every workload the node ran, in the node's order. */
  lost: LostWorkload[];
  /** The lost ones that are workspace functions (same name, same namespace), one per function. */
  redeployable: Array<{ workload: LostWorkload; fn: ValidFunction }>;
  /** The one message for the user, e.g. "The local node stopped: 2 deployed functions were lost (greet, echo in team-a). …". */
  message: string;
  /** The button, e.g. "Redeploy 2 functions"; absent when none is a workspace function. */
  redeployLabel?: string;
  /** For the node's log: each workload with its id and namespace. */
  logLine: string;
}

/** "greet" in the default namespace, "echo in team-a" in another. */
const named = (w: LostWorkload) => (w.namespace === DEFAULT_NAMESPACE ? w.name : `${w.name} in ${w.namespace}`);

/**
 * What was lost when `node` stopped (`restart`: it stopped to start again with new settings), and
 * which of it `functions` can redeploy; undefined when it ran nothing.
 */
export function lostWorkloads(node: StoppedNode, functions: readonly ValidFunction[], reason: 'stop' | 'restart' = 'stop'): LostWorkloads | undefined {
  const lost = node.workloads.map((w) => ({ id: w.id, name: w.name, namespace: w.namespace }));
  if (lost.length === 0) {
    return undefined;
  }
  const redeployable: LostWorkloads['redeployable'] = [];
  for (const workload of lost) {
    const fn = functions.find((f) => f.manifest.name === workload.name && deployNamespace(f) === workload.namespace);
    if (fn && !redeployable.some((r) => r.fn.dir === fn.dir)) {
      redeployable.push({ workload, fn });
    }
  }
  const others = lost.filter((w) => !redeployable.some((r) => r.workload === w));
  const what = reason === 'restart' ? 'The local node restarted with new settings' : 'The local node stopped';
  const count = `${lost.length} deployed ${lost.length === 1 ? 'function was' : 'functions were'} lost`;
  const notOurs =
    redeployable.length > 0 && others.length > 0 ? ` ${others.map(named).join(', ')} ${others.length === 1 ? 'is not a function' : 'are not functions'} of this workspace.` : '';
  return {
    nodeId: node.id,
    lost,
    redeployable,
    message: `${what}: ${count} (${lost.map(named).join(', ')}). A Nex node does not keep workloads across restarts.${notOurs}`,
    redeployLabel: redeployable.length > 0 ? `Redeploy ${plural(redeployable.length, 'function')}` : undefined,
    logLine: `${reason === 'restart' ? 'restarted' : 'stopped'} with ${plural(lost.length, 'workload')}, lost with the node: ${lost.map((w) => `${w.name} (${w.id}) in ${w.namespace}`).join(', ')}`,
  };
}
