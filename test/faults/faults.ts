/** The faults, in the order they run; `quick` ones together take under 3 minutes (scripts/test.sh). */
import { natsCluster } from './cluster';
import { hostileControlTraffic } from './hostile';
import { hostileControlTraffic04 } from './hostile04';
import { limits } from './limits';
import { nodeKilled } from './nodeKill';
import { natsRestartUnderLoad } from './restart';
import { soak } from './soak';
import { FaultResult, Scope } from './support';

export interface Fault {
  id: string;
  name: string;
  /** Part of `--quick` (scripts/test.sh). */
  quick: boolean;
  /** The fault fails when it has not finished within this. */
  limitMs: number;
  run(scope: Scope): Promise<FaultResult>;
}

export const FAULTS: Fault[] = [
  { id: '1', name: 'NATS restart under load', quick: true, limitMs: 120000, run: natsRestartUnderLoad },
  { id: '4', name: 'Hostile control traffic (0.2.7)', quick: true, limitMs: 150000, run: hostileControlTraffic },
  { id: '4b', name: 'Hostile control traffic (0.4.1 node and functions nexlet)', quick: true, limitMs: 150000, run: hostileControlTraffic04 },
  { id: '5', name: 'Limits', quick: true, limitMs: 240000, run: limits },
  { id: '2', name: 'Node killed (kill -9)', quick: true, limitMs: 180000, run: nodeKilled },
  { id: '3', name: 'A NATS cluster of 3', quick: true, limitMs: 180000, run: natsCluster },
  { id: '6', name: 'Soak (100 functions, 100,000 triggers)', quick: false, limitMs: 480000, run: soak(100, 100000) },
];
