/**
 * How a deployed workload differs from the workspace function of the same name: its artifact
 * (local changes not deployed) and its trigger subjects (triggers changed, not deployed). The
 * Deployed view, the Functions view, Which and `nexfn which`/`nodes` all say it in these words.
 */

/** Trigger subjects in the manifest but not deployed, and deployed but no longer in the manifest. */
export interface TriggerDrift {
  added: string[];
  removed: string[];
}

/**
 * How the manifest's triggers differ from the ones a workload was deployed with; undefined when
 * they are the same set, or when the deployed ones are unknown (nothing to compare with).
 */
export function triggerDrift(deployed: readonly string[] | undefined, manifest: readonly string[] | undefined): TriggerDrift | undefined {
  if (!deployed) {
    return undefined;
  }
  const local = manifest ?? [];
  const added = local.filter((t) => !deployed.includes(t));
  const removed = deployed.filter((t) => !local.includes(t));
  return added.length + removed.length > 0 ? { added, removed } : undefined;
}

/** "triggers changed, not deployed (+greetings.*.x, -old.>)". */
export function triggerDriftText(drift: TriggerDrift): string {
  return `triggers changed, not deployed (${[...drift.added.map((t) => `+${t}`), ...drift.removed.map((t) => `-${t}`)].join(', ')})`;
}

/** The words for a workload's drift from its local function: source and triggers; empty when none. */
export function driftNotes(options: { sourceChanged: boolean; triggers?: TriggerDrift }): string[] {
  return [options.sourceChanged ? 'local changes not deployed' : '', options.triggers ? triggerDriftText(options.triggers) : ''].filter(Boolean);
}
