/** A workload a node reports running (WPING, or INFO for the deploy's own node): what stop and follow act on, for 0.2/0.3 and 0.4 alike. */
export interface RunningWorkload {
  nodeId: string;
  /** The node's Nex version, e.g. 0.2.7. */
  nodeVersion: string;
  namespace: string;
  workloadId: string;
  name: string;
}
