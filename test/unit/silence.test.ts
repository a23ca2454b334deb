/** The silence rules both trackers (Nex 0.2/0.3 and 0.4 nodes) follow: unreachable, forgotten, and not during a reconnect grace. */
import * as assert from 'assert';
import { missedHeartbeats, type HeardNode, silentAfterPing, type SilenceRules } from '../../src/explorer/silence';

describe('silent nodes (src/explorer/silence.ts)', () => {
  // Silences are counted from the moment each test makes its nodes (the rules read the clock themselves).
  const node = (id: string, silentMs: number, reachable = true): HeardNode => ({ id, lastSeen: Date.now() - silentMs, reachable });
  const rules = (grace = false, connectedSince = 0): SilenceRules => ({ connectedSince: () => connectedSince, silenceLimitMs: 30_000, inReconnectGrace: () => grace });

  it('after a PING: a node that answered or was heard since stays; a recently heard one is unreachable; one silent past the limit is forgotten', () => {
    const nodes = [node('answered', 60_000), node('heard-since', 0), node('recent', 5_000), node('long-gone', 90_000)];
    const sentAt = Date.now() - 1_000;
    const { forget, unreachable } = silentAfterPing(nodes, new Set(['answered']), sentAt, rules());
    assert.deepStrictEqual(
      [forget.map((n) => n.id), unreachable.map((n) => n.id)],
      [['long-gone'], ['recent']],
    );
  });

  it('marks and forgets nobody while the connection just came back (their own connections may still be reconnecting)', () => {
    const { forget, unreachable } = silentAfterPing([node('recent', 5_000), node('long-gone', 90_000)], new Set(), Date.now() - 1_000, rules(true));
    assert.deepStrictEqual([forget, unreachable], [[], []]);
  });

  it('silence while the connection was down does not count: the limit runs from when it came back', () => {
    const { forget, unreachable } = silentAfterPing([node('long-gone', 90_000)], new Set(), Date.now() - 1_000, rules(false, Date.now() - 10_000));
    assert.deepStrictEqual([forget.map((n) => n.id), unreachable.map((n) => n.id)], [[], ['long-gone']]);
  });

  it('missed heartbeats: reachable nodes silent past the limit, with how long', () => {
    const now = Date.now();
    const silent = missedHeartbeats([{ id: 'fine', lastSeen: now - 10_000, reachable: true }, { id: 'silent', lastSeen: now - 40_000, reachable: true }, { id: 'already', lastSeen: now - 40_000, reachable: false }], rules(), now);
    assert.deepStrictEqual(
      silent.map((s) => [s.node.id, s.silentFor]),
      [['silent', 40_000]],
    );
  });
});
