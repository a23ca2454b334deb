/** The Deployed view's Nex 0.2/0.3 rows: a node, a namespace under it, a workload, its triggers. */
import type { ValidFunction } from '../../core/manifest';
import type { NodeView, WorkloadView } from '../../explorer/deployedModel';

export class DeployedNodeItem {
  constructor(readonly node: NodeView) {}
}

/** A deployed workload's row, of either generation: what the commands on it read (trigger, logs, undeploy). */
export abstract class WorkloadItem<W extends { name: string; namespace: string }> {
  constructor(
    readonly workload: W,
    /** The workspace function of that name, if any. */
    readonly local: ValidFunction | undefined,
  ) {}

  /** For the commands that take a function name (trigger, logs, undeploy). */
  get name(): string {
    return this.workload.name;
  }

  get function(): string | undefined {
    return this.local?.dir;
  }

  /** The namespace it runs in. */
  get namespace(): string {
    return this.workload.namespace;
  }
}

/** A workload on a Nex 0.2/0.3 node. */
export class DeployedWorkloadItem extends WorkloadItem<WorkloadView> {}

/** A namespace under a node, with the node's workloads in it. */
export class DeployedNamespaceItem {
  constructor(
    readonly node: NodeView,
    readonly namespace: string,
  ) {}

  get workloads(): WorkloadView[] {
    return this.node.workloads.filter((w) => w.namespace === this.namespace);
  }
}

export class DeployedTriggerItem {
  constructor(
    /** A 0.2/0.3 or a 0.4 workload (whose node may be unknown). */
    readonly workload: { id: string; nodeId?: string },
    readonly subject: string,
    /** `deployed`: it subscribes with it; `added`: in the manifest only, not deployed; `removed`: deployed, no longer in the manifest. */
    readonly state: 'deployed' | 'added' | 'removed' = 'deployed',
  ) {}
}

/** A workload without a deploy record: its triggers are unknown. */
export class UnknownTriggersItem {
  constructor(readonly workload: WorkloadView) {}
}
