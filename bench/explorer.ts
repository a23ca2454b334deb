/**
 * The deployed explorer (issue 11) at scale, on a private nats-server with 20 simulated Nex nodes
 * (test responders, each on a connection of its own, 50 workloads each):
 * - tree refresh: refresh() → a complete model (PING, then INFO of every node), next to the raw
 *   scatter-gather PING window measured in the same run, both with a 200 ms discovery window;
 * - an event storm: 1,000 heartbeats/s for 10 s from the simulated nodes into a live model: how
 *   many change notifications its listeners hear (coalesced), and whether the final state is
 *   complete (every node up, every workload, each node's last heartbeat shown).
 * Numbers are reported next to their targets; nothing here asserts on time.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { createCurve, createServer } from '@nats-io/nkeys';
import { cloudEvent, eventSubject, SYSTEM_NAMESPACE } from '../src/devnode/nodeEvents';
import { DeployedModel, type DeployedSnapshot, type DeployRecordSource } from '../src/explorer/deployedModel';
import { controlSubjects, ENVELOPE_TYPES, goJson, nodeSubscriptions, successEnvelope } from '../src/nex/controlApi';
import { NexControlClient } from '../src/nex/controlClient';
import type { InfoResponse, MachineSummary, PingResponse } from '../src/nex/controlTypes';
import { NatsServerHandle, startNatsServer } from '../src/nats/natsServerProcess';
import { ms, msRow, Percentiles, stats } from './measure';

const NODES = 20;
const WORKLOADS = 50;
const NAMESPACE = 'default';
const WINDOW_MS = 200;
const SAMPLES = Number(process.env.BENCH_EXPLORER_N ?? 10);
const SAMPLE_WARMUP = 2;
const EVENTS_PER_S = 1000;
const STORM_S = 10;
const COALESCE_MS = 100;

const delay = (t: number) => new Promise((r) => setTimeout(r, t));

/** A workload id as a node makes it (an rs/xid: 20 chars of base32hex, lower case). */
function xid(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  return Array.from({ length: 20 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

/** A simulated Nex node: answers PING and INFO like a 0.2.7 node, and publishes heartbeats on demand. */
class SimulatedNode {
  readonly id = createServer().getPublicKey();
  readonly xkey = createCurve().getPublicKey();
  readonly name: string;
  readonly tags: Record<string, string>;
  readonly machines: MachineSummary[] = [];
  /** Heartbeats sent: their uptime ("<n>s") is what the model must show at the end. */
  beats = 0;

  private constructor(
    readonly nc: NatsConnection,
    index: number,
  ) {
    this.name = `sim-${String(index).padStart(2, '0')}`;
    this.tags = { node_name: this.name, 'nex.arch': 'amd64', 'nex.cpucount': '8', 'nex.os': 'linux' };
    for (let w = 0; w < WORKLOADS; w++) {
      this.addWorkload(`fn${String(w).padStart(2, '0')}`);
    }
  }

  static async start(url: string, index: number): Promise<SimulatedNode> {
    const node = new SimulatedNode(await connect({ servers: url, name: `sim-node-${index}` }), index);
    node.nc.subscribe(controlSubjects.pingAll(), { callback: (_e, m) => void m.respond(goJson(successEnvelope(ENVELOPE_TYPES.ping, node.ping()))) });
    node.nc.subscribe(nodeSubscriptions(node.id).info, { callback: (_e, m) => void m.respond(goJson(successEnvelope(ENVELOPE_TYPES.info, node.info(m.subject.split('.')[2])))) });
    await node.nc.flush();
    return node;
  }

  get uptime(): string {
    return `${this.beats}s`;
  }

  addWorkload(name: string): void {
    this.machines.push({
      id: xid(),
      healthy: true,
      uptime: '1s',
      namespace: NAMESPACE,
      workload: { name, description: `${name} (simulated)`, hash: 'ab'.repeat(32), runtime: '0s', type: 'v8' },
    });
  }

  ping(): PingResponse {
    return { node_id: this.id, nexus: 'nexus', version: '0.2.7', uptime: this.uptime, target_xkey: this.xkey, tags: this.tags, running_machines: this.machines.length };
  }

  info(namespace: string): InfoResponse {
    return {
      version: '0.2.7',
      uptime: this.uptime,
      public_xkey: this.xkey,
      tags: this.tags,
      memory: { total: 16000000, free: 8000000, available: 12000000 },
      machines: this.machines.filter((m) => m.namespace === namespace),
      supported_workload_types: ['v8', 'wasm'],
    };
  }

  heartbeat(): void {
    this.beats++;
    this.nc.publish(
      eventSubject(SYSTEM_NAMESPACE, 'heartbeat'),
      goJson(cloudEvent('heartbeat', this.id, { version: '0.2.7', node_id: this.id, nexus: 'nexus', uptime: this.uptime, tags: this.tags, running_machines: this.machines.length })),
    );
  }

  /** A deploy as a 0.2.7 node announces it: a new workload, and its workload_deployed event (from the workload's agent). */
  deploy(name: string): void {
    this.addWorkload(name);
    const m = this.machines[this.machines.length - 1];
    this.nc.publish(eventSubject(NAMESPACE, 'workload_deployed'), goJson(cloudEvent('workload_deployed', `${this.id}-${m.id}`, { workload_name: name, code: 0 }, { namespace: NAMESPACE })));
  }
}

/** What is missing or wrong in a snapshot, compared with what the simulated nodes say; empty when complete. */
function gaps(snapshot: DeployedSnapshot, nodes: readonly SimulatedNode[], checkUptime: boolean): string[] {
  const out: string[] = [];
  if (snapshot.nodes.length !== nodes.length) {
    out.push(`${snapshot.nodes.length} of ${nodes.length} nodes`);
  }
  for (const sim of nodes) {
    const n = snapshot.nodes.find((x) => x.id === sim.id);
    if (!n) {
      continue;
    }
    const ids = new Set(n.workloads.map((w) => w.id));
    const missing = sim.machines.filter((m) => !ids.has(m.id)).length;
    if (missing > 0 || n.workloads.length !== sim.machines.length) {
      out.push(`${sim.name}: ${n.workloads.length} workloads, ${missing} of its ${sim.machines.length} missing`);
    }
    if (n.state !== 'up') {
      out.push(`${sim.name}: ${n.state} (${n.stateReason ?? ''})`);
    }
    if (checkUptime && n.uptime !== sim.uptime) {
      out.push(`${sim.name}: uptime ${n.uptime}, its last heartbeat said ${sim.uptime}`);
    }
  }
  out.push(...snapshot.problems);
  return out;
}

const allWorkloads = (s: DeployedSnapshot) => s.nodes.reduce((n, node) => n + node.workloads.length, 0);

export interface ExplorerBench {
  ping: Percentiles;
  model: Percentiles;
  notifications: number;
  stormMs: number;
  complete: boolean;
}

/** Runs the explorer bench and prints its report; stops the server and every connection, also on failure. */
export async function benchExplorer(): Promise<ExplorerBench> {
  let server: NatsServerHandle | undefined;
  const sims: SimulatedNode[] = [];
  let nc: NatsConnection | undefined;
  const models: DeployedModel[] = [];
  try {
    server = await startNatsServer();
    for (let i = 0; i < NODES; i++) {
      sims.push(await SimulatedNode.start(server.url, i));
    }
    const explorer = await connect({ servers: server.url, name: 'explorer' });
    nc = explorer;
    // Every workload has a deploy record (served from memory, so the figures are the model's own).
    const records: DeployRecordSource = {
      get: (workloadId) => ({ v: 1, workloadId, name: workloadId, namespace: NAMESPACE, nodeId: '', type: 'v8', triggers: [`${workloadId}.>`], hash: '', issuer: '', deployedAt: '' }),
      load: async () => undefined,
      close: () => undefined,
    };
    const newModel = () => {
      const model = new DeployedModel({ nc: explorer, namespace: NAMESPACE, discoveryWindowMs: WINDOW_MS, refreshMinMs: 3600000, refreshMaxMs: 3600000, coalesceMs: COALESCE_MS, records });
      models.push(model);
      return model;
    };

    // 1. Tree refresh: a new model's refresh() until complete, next to the bare PING window; interleaved.
    const client = new NexControlClient(explorer);
    const pings: number[] = [];
    const refreshes: number[] = [];
    const refreshGaps: string[] = [];
    for (let i = 0; i < SAMPLES + SAMPLE_WARMUP; i++) {
      const p0 = performance.now();
      const answers = await client.ping(WINDOW_MS);
      const pingMs = performance.now() - p0;
      if (answers.length !== NODES) {
        refreshGaps.push(`PING ${i}: ${answers.length} of ${NODES} answers`);
      }
      const model = newModel();
      const r0 = performance.now();
      const snapshot = await model.refresh();
      const refreshMs = performance.now() - r0;
      const missing = gaps(snapshot, sims, false);
      if (missing.length > 0) {
        refreshGaps.push(`refresh ${i}: ${missing.slice(0, 3).join('; ')}`);
      }
      model.dispose();
      if (i >= SAMPLE_WARMUP) {
        pings.push(pingMs);
        refreshes.push(refreshMs);
      }
    }
    const ping = stats(pings);
    const model = stats(refreshes);

    // What a notification costs the model: a fresh snapshot of 20 × 50 workloads (with triggers).
    const builder = newModel();
    await builder.refresh();
    const builds: number[] = [];
    for (let i = 0; i < 50; i++) {
      builder.setNamespaces(i % 2 === 0 ? ['other'] : []); // invalidates the cached snapshot
      const b0 = performance.now();
      builder.snapshot();
      builds.push(performance.now() - b0);
    }
    builder.dispose();

    // 2. Event storm: heartbeats of every node, round robin, paced to EVENTS_PER_S; a deploy halfway.
    const live = newModel();
    const first = await live.start();
    const startGaps = gaps(first, sims, false);
    let notifications = 0;
    live.onDidChange(() => notifications++);
    let arrived = 0;
    const counter = explorer.subscribe(eventSubject(SYSTEM_NAMESPACE, 'heartbeat'), { callback: () => arrived++ });
    await explorer.flush();
    const total = EVENTS_PER_S * STORM_S;
    let sent = 0;
    let deployed = false;
    const cpu0 = process.cpuUsage();
    const s0 = performance.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - s0) / 1000) * EVENTS_PER_S));
      for (; sent < due; sent++) {
        sims[sent % NODES].heartbeat();
        if (!deployed && sent >= total / 2) {
          deployed = true;
          sims[0].deploy('late');
        }
      }
      await delay(5);
    }
    const stormMs = performance.now() - s0;
    const notifiedInStorm = notifications;
    const cpu = process.cpuUsage(cpu0);
    await Promise.all(sims.map((s) => s.nc.flush()));
    await explorer.flush();
    // Let the last coalesced notification (and the INFO the deploy caused) land.
    const settleUntil = Date.now() + 5000;
    let final = live.snapshot();
    while (gaps(final, sims, true).length > 0 && Date.now() < settleUntil) {
      await delay(COALESCE_MS);
      final = live.snapshot();
    }
    await delay(COALESCE_MS * 2);
    final = live.snapshot();
    const finalGaps = gaps(final, sims, true);
    counter.unsubscribe();

    console.log(`deployed explorer: ${NODES} simulated Nex nodes × ${WORKLOADS} workloads on a private nats-server (test responders, one connection each)`);
    console.log(`tree refresh, ${SAMPLES} samples each after ${SAMPLE_WARMUP} warm-up, discovery window ${WINDOW_MS} ms for both (p50 and ratio to the baseline above it):`);
    msRow(`baseline: raw PING scatter-gather (${NODES} answers)`, ping);
    msRow(`refresh() → complete model (PING + ${NODES} INFO)`, model, ping);
    const target = 1.5 * ping.p50 + 20;
    console.log(
      `  model within ${(model.p50 / ping.p50).toFixed(2)}× the PING window, i.e. the window plus ${(model.p50 - ping.p50).toFixed(1)} ms   (target ≤ 1.5× + 20 ms = ${target.toFixed(0)} ms: ${model.p50 <= target ? 'met' : 'missed'})`,
    );
    console.log(`  complete every time: ${refreshGaps.length === 0 ? `yes (${NODES} nodes, ${NODES * WORKLOADS} workloads)` : `no: ${refreshGaps.slice(0, 5).join(' | ')}`}`);
    console.log(`  a snapshot of the ${allWorkloads(first)} workloads (what each notification builds): p50 ${ms(stats(builds).p50)}`);
    console.log(`event storm: ${EVENTS_PER_S} heartbeats/s for ${STORM_S} s from the ${NODES} nodes into a live model (one deploy halfway), notifications coalesced per ${COALESCE_MS} ms:`);
    console.log(`  sent ${sent} in ${(stormMs / 1000).toFixed(2)} s (${((sent / stormMs) * 1000).toFixed(0)}/s); ${arrived} arrived at the explorer's connection`);
    console.log(
      `  onDidChange: ${notifiedInStorm} notifications = ${((notifiedInStorm / stormMs) * 1000).toFixed(1)}/s   (expect ≤ ${1000 / COALESCE_MS}/s); ${notifications - notifiedInStorm} more after the storm`,
    );
    console.log(`  process CPU during the storm (simulated nodes and model together): ${(((cpu.user + cpu.system) / 1000 / stormMs) * 100).toFixed(0)}% of one core`);
    console.log(
      `  final state: ${finalGaps.length === 0 && startGaps.length === 0 ? `complete (${final.nodes.length} nodes up, ${allWorkloads(final)} workloads with the late deploy, each node's last heartbeat shown)` : `INCOMPLETE: ${[...startGaps, ...finalGaps].slice(0, 5).join(' | ')}`}`,
    );
    return { ping, model, notifications: notifiedInStorm, stormMs, complete: finalGaps.length === 0 && startGaps.length === 0 && refreshGaps.length === 0 };
  } finally {
    models.forEach((m) => m.dispose());
    await nc?.close().catch(() => undefined);
    await Promise.all(sims.map((s) => s.nc.close().catch(() => undefined)));
    await server?.stop();
  }
}
