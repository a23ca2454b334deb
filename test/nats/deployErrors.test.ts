/**
 * nexfn deploy of a function the node refuses for its own file, against a local Nex node on a
 * real nats-server: the node's text verbatim, then where it points (file:line).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { NatsServerHandle } from '../support/natsServer';
import { runNexfn } from '../support/nexfn';
import { LocalNodeFixture, startLocalNodeFixture } from '../support/localNodeFixture';

describe('nexfn deploy: a refusal of the source points at its line', function () {
  this.timeout(60000);
  let fixture: LocalNodeFixture;
  let server: NatsServerHandle;
  let work: string;
  let keys: string;

  before(async () => {
    fixture = await startLocalNodeFixture('nex-deploy-errors-');
    ({ server, work } = fixture);
    keys = path.join(work, 'keys');
  });
  after(() => fixture?.stop());

  /** A v8 function folder under `work` named `name` with this source. */
  const fnFolder = (name: string, source: string): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'fn.js'), source);
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'fn.js', triggers: [`${name}.>`] }));
    return dir;
  };

  it("says the node's text verbatim, then the file and line of the syntax error", async () => {
    const dir = fnFolder('broken', '// greets whoever asks\n(subject, payload) => {\n  const name = ;\n  return "hello " + name;\n};\n');
    const out = await runNexfn(['deploy', dir, '-s', server.url, '--keys', keys]);
    assert.strictEqual(out.code, 1, out.stderr);
    const [first, second] = out.stderr.slice(out.stderr.indexOf('nexfn deploy:')).split('\n');
    assert.match(first, /^nexfn deploy: Failed to deploy workload: workload rejected by agent: Failed to validate workload: failed to compile source for execution: SyntaxError: [^\n]+$/, out.stderr);
    assert.doesNotMatch(first, /fn\.js/, "the node's own text, unchanged");
    const where = second?.match(/^ {2}at (.+?):(\d+)(?::(\d+))?$/);
    assert.ok(where, `no "at file:line" line in:\n${out.stderr}`);
    assert.strictEqual(path.resolve(where[1]), path.join(dir, 'fn.js'));
    assert.strictEqual(where[2], '3', 'the line of `const name = ;`');
    assert.strictEqual(out.stdout, '');
  });

  it('points a source over 12,288 bytes at the file, with the hint', async () => {
    const dir = fnFolder('too-big', `// ${'x'.repeat(13000)}\n(subject, payload) => payload;\n`);
    const out = await runNexfn(['deploy', dir, '-s', server.url, '--keys', keys]);
    assert.strictEqual(out.code, 1, out.stderr);
    const refusal = out.stderr.slice(out.stderr.indexOf('nexfn deploy:'));
    const lines = refusal.trimEnd().split('\n');
    assert.match(lines[0], /^nexfn deploy: Failed to deploy workload: workload rejected by agent: Failed to validate workload: source file \(\d+ bytes\) exceeds maximum of 12288 bytes$/);
    assert.match(lines[1], /^ {2}at \S*too-big[/\\]fn\.js$/, refusal);
    assert.match(lines[2], /^hint: a Nex node takes at most 12,288 bytes/);
  });

  it('leaves a refusal that is not about the source as it was', async () => {
    const dir = fnFolder('denied', '(subject, payload) => payload;\n');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'denied', type: 'v8', source: 'fn.js' }));
    const out = await runNexfn(['deploy', dir, '-s', server.url, '--keys', keys]);
    assert.notStrictEqual(out.code, 0);
    assert.doesNotMatch(out.stderr, /^ {2}at /m, out.stderr);
  });
});
