/**
 * Trying a connection before it is saved (Add/Edit Connection…), and a user without a password:
 * said before connecting, naming the field or flag, not as refused credentials.
 */
import * as assert from 'assert';
import { profileFromFlags } from '../../src/cli/connectionFlags';
import { connectionOptions, tryConnection } from '../../src/nats/connection';
import { runNexfn } from '../support/nexfn';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

describe('trying a NATS connection, and a user without a password', () => {
  let server: NatsServerHandle;
  const savedPassword = process.env.NATS_PASSWORD;
  before(async () => {
    delete process.env.NATS_PASSWORD;
    server = await startNatsServer(['--user', 'ada', '--pass', 'lovelace']);
  });
  after(async () => {
    if (savedPassword !== undefined) {
      process.env.NATS_PASSWORD = savedPassword;
    }
    await server.stop();
  });

  it('is fine with the right password, and gives the server\'s words for a wrong one', async () => {
    assert.strictEqual(await tryConnection({ servers: [server.url], user: 'ada' }, { password: 'lovelace' }), undefined);
    const wrong = await tryConnection({ servers: [server.url], user: 'ada' }, { password: 'wrong' });
    assert.match(wrong ?? '', /refused the credentials \(the server said: Authorization Violation\): check the user, password/);
  });

  it('says the server cannot be reached', async () => {
    const gone = await startNatsServer();
    const url = gone.url;
    await gone.stop();
    assert.match((await tryConnection({ servers: [url] }, {}, 2000)) ?? '', /cannot reach nats:\/\/127\.0\.0\.1:\d+ .*is the NATS server running there/);
  });

  it('says that no password was given for a user, before connecting (the saved connection\'s field)', async () => {
    const expected = 'password: no password was given for the user "ada": give the password (or leave out the user)';
    assert.throws(() => connectionOptions({ servers: [server.url], user: 'ada' }, {}), { name: 'ConnectionConfigError', field: 'password', message: expected });
    assert.throws(() => connectionOptions({ servers: [server.url], user: 'ada' }, { password: '' }), { message: expected });
    assert.strictEqual(await tryConnection({ servers: [server.url], user: 'ada' }, {}), expected);
  });

  it('nexfn: --user without --password or $NATS_PASSWORD names the flag', async () => {
    assert.throws(() => profileFromFlags({ server: server.url, user: 'ada', namespace: 'default' }), /^ConnectionConfigError: --password: no password was given for --user ada: add --password <password> or set \$NATS_PASSWORD$/);
    assert.deepStrictEqual(profileFromFlags({ server: server.url, user: 'ada', password: 'lovelace', namespace: 'default' }).secrets, { password: 'lovelace' });
    const run = await runNexfn(['nodes', '--server', server.url, '--user', 'ada']);
    assert.strictEqual(run.code, 1);
    assert.match(run.stderr, /no password was given for --user ada/);
    assert.doesNotMatch(run.stderr, /refused the credentials/);
  });

  it('nexfn node --nats --user without $NATS_PASSWORD says so', async () => {
    const run = await runNexfn(['node', '--nats', server.url, '--user', 'ada', '--state', '/nonexistent-never-used']);
    assert.strictEqual(run.code, 1);
    assert.match(run.stderr, /nexfn node: no password was given for --user ada: set \$NATS_PASSWORD/);
  });
});
