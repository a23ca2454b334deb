import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lazy } from '../../src/core/lazy';
import { findManifests } from '../../src/core/workspaceScan';

describe('findManifests (the editor catalog\'s walk of a workspace folder)', () => {
  let root: string;
  const manifest = (...parts: string[]) => {
    const dir = path.join(root, ...parts);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{}');
    return path.join(dir, 'nexfunction.json');
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'nexfn-scan-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds manifests at any depth, in hidden folders too, and none in the skipped folders', async () => {
    const wanted = [manifest('echo'), manifest('a', 'b', 'c', 'd', 'deep'), manifest('.hidden', 'fn'), manifest()];
    for (const skipped of ['node_modules', '.git', 'dist', 'out', 'target']) {
      manifest(skipped, 'fn');
      manifest('echo', skipped, 'nested', 'fn');
    }
    fs.writeFileSync(path.join(root, 'echo', 'nexfunction.json.bak'), '{}');
    assert.deepStrictEqual((await findManifests(root)).sort(), wanted.sort());
  });

  it('follows a link to a folder once, and passes over a dangling link and a missing root', async () => {
    const real = manifest('elsewhere', 'fn');
    fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'linked'));
    fs.symlinkSync(root, path.join(root, 'elsewhere', 'loop'));
    fs.symlinkSync(path.join(root, 'gone'), path.join(root, 'dangling'));
    const found = await findManifests(root);
    assert.ok(found.includes(real) || found.includes(path.join(root, 'linked', 'fn', 'nexfunction.json')), found.join(', '));
    assert.strictEqual(found.length, 1, found.join(', '));
    assert.deepStrictEqual(await findManifests(path.join(root, 'missing')), []);
  });
});

describe('lazy', () => {
  it('makes the value on first use, once', () => {
    let made = 0;
    const value = lazy(() => ({ n: ++made }));
    assert.strictEqual(made, 0);
    assert.strictEqual(value(), value());
    assert.strictEqual(made, 1);
  });
});
