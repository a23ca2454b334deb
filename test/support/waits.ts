/**
 * Waiting in tests for something to happen: polling a condition, or the first change notification
 * of a deployed model that satisfies one. Each fails naming what never came.
 */
import * as assert from 'assert';
import type { DeployedModel, DeployedSnapshot } from '../../src/explorer/deployedModel';

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, polling every 20 ms; fails naming `what` (and `context()`) when it never does within `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 15000, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}${context() ? `: ${context()}` : ''}`);
    await delay(20);
  }
}

/**
 * The first snapshot a change notification brings that satisfies `check`. Subscribe before acting,
 * so the notification the action causes is the one awaited.
 */
export function changeWhere(model: DeployedModel, what: string, check: (s: DeployedSnapshot) => boolean, ms = 15000): Promise<DeployedSnapshot> {
  return new Promise((resolve, reject) => {
    let last: DeployedSnapshot | undefined;
    const timer = setTimeout(() => {
      registration.dispose();
      reject(new Error(`no change notification with ${what} within ${ms} ms; the last one: ${JSON.stringify(last, null, 1)}`));
    }, ms);
    const registration = model.onDidChange((s) => {
      last = s;
      if (check(s)) {
        clearTimeout(timer);
        registration.dispose();
        resolve(s);
      }
    });
  });
}
