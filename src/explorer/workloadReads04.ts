/**
 * The Nex 0.4 workloads the explorer knows: the last WPING of each namespace read, each answer placed
 * on its node (attributeAnswers), merged per node in the order of the namespaces (a workload is
 * listed once, by id). Nex04Tracker (nodes04.ts) asks; this keeps and merges, and says what could not
 * be read. Stops are remembered for a while, so a WPING sent before a stop does not bring the
 * workload back, and an older WPING never overwrites a newer one.
 */
import type { WorkloadPing } from '../nex04/client04';
import { control04 } from '../nex04/subjects';
import { attributeAnswers, readWorkload, type Workload04View } from './workloads04';

/** How long a stopped workload id is remembered against WPING answers sent before the stop. */
const STOPPED_MEMORY_MS = 60000;

/** One namespace's WPING, placed on nodes. */
interface NamespaceRead {
  /** When its WPING went out (epoch ms). */
  sentAt: number;
  byNode: Map<string, Workload04View[]>;
  /** The nodes the read asked (their workloads are known from it, possibly none). */
  asked: Set<string>;
  unplaced: Workload04View[];
  /** Asked nodes no answer was placed on, when some workloads could not be placed. */
  untold: string[];
  /** What went wrong, not tied to one node. */
  problems: string[];
  /** What went wrong, by node (with one node asked, everything is that node's). */
  nodeProblems: Map<string, string>;
}

const inSeconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export function sortWorkloads(list: Workload04View[]): Workload04View[] {
  return list.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export class WorkloadReads04 {
  private readonly reads = new Map<string, NamespaceRead>();
  /** Workloads said stopped (epoch ms). */
  private readonly stopped = new Map<string, number>();

  get isEmpty(): boolean {
    return this.reads.size === 0;
  }

  has(namespace: string): boolean {
    return this.reads.has(namespace);
  }

  clear(): void {
    this.reads.clear();
  }

  /** Forgets the reads of namespaces not in `namespaces`. */
  keep(namespaces: readonly string[]): void {
    const kept = new Set(namespaces);
    for (const ns of [...this.reads.keys()]) {
      if (!kept.has(ns)) {
        this.reads.delete(ns);
      }
    }
  }

  /** A node that is gone: its workloads go with it. */
  dropNode(nodeId: string): void {
    for (const read of this.reads.values()) {
      read.byNode.delete(nodeId);
      read.asked.delete(nodeId);
      read.nodeProblems.delete(nodeId);
    }
  }

  /**
   * Stores one namespace's WPING sent at `sentAt` to `nodeIds`, placed on them; nodes not asked that
   * are still `known` (unreachable ones) keep what they had. A read sent before the stored one is
   * dropped, and workloads stopped since it was sent are left out.
   */
  take(ns: string, nodeIds: readonly string[], ping: WorkloadPing, sentAt: number, waitMs: number, known: (nodeId: string) => boolean): void {
    const previous = this.reads.get(ns);
    if (previous && previous.sentAt > sentAt) {
      return;
    }
    const answers = ping.answers.map((a) => ({ workloads: a.workloads.filter((w) => (this.stopped.get(w.id) ?? -1) < sentAt) }));
    const placed = attributeAnswers(answers, nodeIds);
    const read: NamespaceRead = { sentAt, byNode: new Map(), asked: new Set(nodeIds), unplaced: placed.unplaced.map((w) => readWorkload(w, ns)), untold: [], problems: [], nodeProblems: new Map() };
    for (const [nodeId, list] of placed.byNode) {
      read.byNode.set(nodeId, list.map((w) => readWorkload(w, ns, nodeId)));
    }
    for (const [nodeId, list] of previous?.byNode ?? []) {
      if (!read.asked.has(nodeId) && known(nodeId)) {
        read.byNode.set(nodeId, list);
        read.asked.add(nodeId);
      }
    }
    if (read.unplaced.length > 0) {
      read.untold = placed.unattributedNodes;
    }
    const words = ping.problems.map((p) => (/failed to publish query workloads request/.test(p) ? `${p} (0.4.1 answers so when no nexlet is registered with the node)` : p));
    const missing = nodeIds.length - ping.answers.length - ping.problems.length;
    if (missing > 0) {
      words.push(`${missing} of ${nodeIds.length} Nex 0.4 node(s) did not answer ${control04.workloadPing(ns)} within ${inSeconds(waitMs)}`);
    }
    if (nodeIds.length === 1 && words.length > 0) {
      read.nodeProblems.set(nodeIds[0], words.join('; '));
    } else {
      read.problems = words;
    }
    this.reads.set(ns, read);
  }

  /** Takes a workload out of every read (and keeps it out of WPINGs sent before now); whether it was listed. */
  forget(workloadId: string): boolean {
    const now = Date.now();
    this.stopped.set(workloadId, now);
    for (const [id, at] of this.stopped) {
      if (now - at > STOPPED_MEMORY_MS) {
        this.stopped.delete(id);
      }
    }
    let found = false;
    for (const read of this.reads.values()) {
      for (const [nodeId, list] of read.byNode) {
        if (list.some((w) => w.id === workloadId)) {
          read.byNode.set(nodeId, list.filter((w) => w.id !== workloadId));
          found = true;
        }
      }
      if (read.unplaced.some((w) => w.id === workloadId)) {
        read.unplaced = read.unplaced.filter((w) => w.id !== workloadId);
        found = true;
      }
    }
    return found;
  }

  /** A node's workloads over the namespaces in `order` (undefined when no read asked it yet), and what could not be read of them. */
  ofNode(nodeId: string, order: readonly string[]): { workloads?: Workload04View[]; problems: string[] } {
    const seen = new Set<string>();
    const workloads: Workload04View[] = [];
    const problems: string[] = [];
    let asked = false;
    for (const ns of order) {
      const read = this.reads.get(ns);
      if (!read?.asked.has(nodeId)) {
        continue;
      }
      asked = true;
      for (const w of read.byNode.get(nodeId) ?? []) {
        if (!seen.has(w.id)) {
          seen.add(w.id);
          workloads.push(w);
        }
      }
      const own = read.nodeProblems.get(nodeId);
      if (own) {
        problems.push(`WPING in ${ns}: ${own}`);
      } else if (read.untold.includes(nodeId)) {
        problems.push(`its workloads in ${ns} cannot be told from other nodes' (its WPING answer does not name it): they are listed with the unplaced ones`);
      }
    }
    return { ...(asked ? { workloads: sortWorkloads(workloads) } : {}), problems };
  }

  /** The workloads no node could be told for, over the namespaces in `order`, leaving out the ids in `placed`. */
  unplaced(order: readonly string[], placed: Set<string>): Workload04View[] {
    const out: Workload04View[] = [];
    for (const ns of order) {
      for (const w of this.reads.get(ns)?.unplaced ?? []) {
        if (!placed.has(w.id)) {
          placed.add(w.id);
          out.push(w);
        }
      }
    }
    return sortWorkloads(out);
  }

  /** What went wrong with the reads, not tied to one node. */
  problems(order: readonly string[]): string[] {
    return order.flatMap((ns) => this.reads.get(ns)?.problems ?? []);
  }

  /** Every workload id listed, sorted (for the model's structure key). */
  ids(): string[] {
    const ids = [...this.reads.values()].flatMap((r) => [...[...r.byNode.values()].flat(), ...r.unplaced].map((w) => w.id));
    return [...new Set(ids)].sort();
  }
}

/** Workload events within this many milliseconds make one WPING per namespace. */
const REREAD_COALESCE_MS = 100;

/** Re-reads of namespaces asked for by events: those asked within REREAD_COALESCE_MS make one round, rounds run one after another. */
export class Rereads {
  private batch?: { namespaces: Set<string>; done: Promise<void>; resolve: () => void; timer: ReturnType<typeof setTimeout> };
  private rounds: Promise<void> = Promise.resolve();

  constructor(private readonly read: (namespaces: string[]) => Promise<void>) {}

  /** Resolves when the round that reads `namespace` is done. */
  ask(namespace: string): Promise<void> {
    if (!this.batch) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      const batch = { namespaces: new Set<string>(), done, resolve, timer: setTimeout(() => this.run(batch), REREAD_COALESCE_MS) };
      this.batch = batch;
    }
    this.batch.namespaces.add(namespace);
    return this.batch.done;
  }

  private run(batch: NonNullable<Rereads['batch']>): void {
    if (this.batch === batch) {
      this.batch = undefined;
    }
    this.rounds = this.rounds
      .then(() => this.read([...batch.namespaces]))
      .catch(() => undefined)
      .finally(batch.resolve);
  }

  /** Drops what was asked and not yet sent (its callers are let go). */
  dispose(): void {
    if (this.batch) {
      clearTimeout(this.batch.timer);
      this.batch.resolve();
      this.batch = undefined;
    }
  }
}
