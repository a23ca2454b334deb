import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { createUser } from '@nats-io/nkeys';
import { connectionOptions, connectNats, listNatsContexts, loadNatsContext, parseServers } from '../../src/nats/connection';
import { tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

describe('NATS connections (src/nats/connection)', () => {
  const servers: NatsServerHandle[] = [];
  let dir: string;
  before(() => (dir = tempDir('nex-conn-')));
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const server = async (args: string[]) => {
    const s = await startNatsServer(args);
    servers.push(s);
    return s;
  };

  it('parses server lists, and refuses what is not a server URL', () => {
    assert.deepStrictEqual(parseServers(' nats://a:4222, b:4223 '), ['nats://a:4222', 'nats://b:4223']);
    assert.throws(() => parseServers(' , '), /servers: give at least one server URL/);
    assert.throws(() => parseServers('http://a:80'), /servers: "http:\/\/a:80": use nats:\/\//);
  });

  it('connects with user and password, and says clearly when they are wrong', async () => {
    const s = await server(['--user', 'ada', '--pass', 'lovelace']);
    const nc = await connectNats({ servers: [s.url], user: 'ada' }, { password: 'lovelace' });
    assert.ok(nc.info?.server_id);
    await nc.close();
    await assert.rejects(connectNats({ servers: [s.url], user: 'ada' }, { password: 'wrong' }, { maxReconnectAttempts: 0 }), /refused the credentials \(the server said: .*[Aa]uthoriz.*\): check the user, password/);
  });

  it('connects with a token', async () => {
    const s = await server(['--auth', 's3cret']);
    const nc = await connectNats({ servers: [s.url] }, { token: 's3cret' });
    await nc.close();
  });

  it('connects with an nkey seed file, and names a file that is not a seed', async () => {
    const user = createUser();
    const conf = path.join(dir, 'nkey.conf');
    fs.writeFileSync(conf, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const s = await server(['-c', conf]);
    const seedFile = path.join(dir, 'user.nk');
    fs.writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()) + '\n');
    const nc = await connectNats({ servers: [s.url], nkeySeedFile: seedFile });
    await nc.close();
    const notSeed = path.join(dir, 'not-a-seed.nk');
    fs.writeFileSync(notSeed, 'hello');
    assert.throws(() => connectionOptions({ servers: [s.url], nkeySeedFile: notSeed }), /nkeySeedFile: .*not-a-seed\.nk does not hold a user nkey seed/);
    assert.throws(() => connectionOptions({ servers: [s.url], nkeySeedFile: path.join(dir, 'missing.nk') }), /nkeySeedFile: cannot read .*missing\.nk: no such file/);
    assert.throws(() => connectionOptions({ servers: [s.url], credsFile: notSeed }), /credsFile: .* is not a NATS creds file/);
    assert.throws(() => connectionOptions({ servers: [s.url], user: 'a', nkeySeedFile: seedFile }), /authentication: use one way to authenticate, not nkey seed and user/);
  });

  it('says the server cannot be reached, naming it', async () => {
    const s = await startNatsServer();
    const url = s.url;
    await s.stop();
    await assert.rejects(connectNats({ servers: [url] }, {}, { maxReconnectAttempts: 0, timeout: 2000 }), new RegExp(`cannot reach ${url.replace(/[.:/]/g, '\\$&')}`));
  });

  it('reads the nats CLI contexts and the selected one, and connects with one', async () => {
    const s = await server(['--user', 'ctx', '--pass', 'pw']);
    const config = path.join(dir, 'nats');
    fs.mkdirSync(path.join(config, 'context'), { recursive: true });
    fs.writeFileSync(path.join(config, 'context', 'local.json'), JSON.stringify({ description: 'mine', url: s.url, user: 'ctx', password: 'pw', jetstream_domain: 'hub', inbox_prefix: '_I' }));
    fs.writeFileSync(path.join(config, 'context', 'other.json'), JSON.stringify({ url: 'nats://10.0.0.1:4222', creds: '~/x.creds' }));
    fs.writeFileSync(path.join(config, 'context.txt'), 'local\n');
    const contexts = listNatsContexts(config);
    assert.deepStrictEqual(contexts.map((c) => [c.name, c.selected]), [['local', true], ['other', false]]);
    const local = loadNatsContext('local', config);
    assert.deepStrictEqual(local.profile, { servers: [s.url], user: 'ctx', inboxPrefix: '_I', jsDomain: 'hub' });
    assert.deepStrictEqual(local.secrets, { password: 'pw' });
    assert.match(contexts[1].profile.credsFile!, /x\.creds$/);
    assert.ok(!contexts[1].profile.credsFile!.startsWith('~'));
    const nc = await connectNats(local.profile, local.secrets);
    const sub = nc.subscribe('_I.x');
    await nc.flush();
    sub.unsubscribe();
    await nc.close();
    assert.throws(() => loadNatsContext('nope', config), /no nats context "nope" in .* \(there are: local, other\)/);
  });
});
