import * as assert from 'assert';
import { createHash } from 'crypto';
import { createAccount, createCurve, createServer, fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { decodeGoBase64, goJson } from '../../src/nex/controlApi';
import { buildDeployRequest, buildDeployRequest02, buildDeployRequest03, deployRequestJson, FunctionDeployInputs } from '../../src/nex/deployRequest';
import { decodeLocation, encodeLocation } from '../../src/nex/location';
import { decodeWorkloadJwt, encodeWorkloadJwt, verifyWorkloadJwt } from '../../src/nex/workloadJwt';
import { openEnvironment, sealEnvironment } from '../../src/nex/xkeyEnvelope';

const utf8 = (text: string) => new TextEncoder().encode(text);
const fromBase64url = (part: string) => Buffer.from(part, 'base64url').toString('utf8');

/** RFC 4648 base32 without padding, written differently from the module's on purpose (bit strings). */
function base32ByHand(bytes: Uint8Array): string {
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  return (bits.match(/.{1,5}/g) ?? []).map((chunk) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(chunk.padEnd(5, '0'), 2)]).join('');
}

/** A token signed by `kp` over hand-written header and payload JSON, as nats-io/jwt lays it out. */
function signByHand(kp: KeyPair, header: string, payload: string): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${Buffer.from(kp.sign(utf8(input))).toString('base64url')}`;
}

// A fixed account seed, so the known vector below is fully determined (ed25519 signatures are deterministic).
const ISSUER_SEED = 'SAALE4GC2WD2NRZ6Q6BBWLDM3LWYULFS6VZDIDP7DGSUM4BUT44ABY3NJU';
const IAT = 1700000000;

describe('Nex protocol: workload JWT', () => {
  const issuer = fromSeed(utf8(ISSUER_SEED));
  const iss = issuer.getPublicKey();

  it('0.2: matches a vector built by hand from the reference, and its signature verifies with nkeys', () => {
    const token = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'abc12345TODOmakethisreal' }, '0.2', new Date(IAT * 1000 + 999));
    const [header, payload, signature] = token.split('.');
    assert.ok([header, payload, signature].every((part) => /^[A-Za-z0-9_-]+$/.test(part)), 'base64url without padding');
    assert.strictEqual(fromBase64url(header), '{"typ":"JWT","alg":"ed25519-nkey"}');
    // jti: SHA-512/256 over ClaimsData with an empty jti (omitted), base32 std without padding.
    const jti = base32ByHand(createHash('sha512-256').update(`{"iat":${IAT},"iss":"${iss}","sub":"echo"}`).digest());
    assert.strictEqual(jti.length, 52);
    assert.strictEqual(fromBase64url(payload), `{"jti":"${jti}","iat":${IAT},"iss":"${iss}","sub":"echo","nats":{"hash":"abc12345TODOmakethisreal","version":2}}`);
    assert.deepStrictEqual(Object.keys(JSON.parse(fromBase64url(payload))), ['jti', 'iat', 'iss', 'sub', 'nats']);
    assert.ok(fromPublic(iss).verify(utf8(`${header}.${payload}`), Buffer.from(signature, 'base64url')));
  });

  it('0.3: sub is the request id and nats carries hash, name, version in Go map order', () => {
    const id = '7b0b3f8e-0c2d-4a51-9f0e-2f7d3c1a9b64';
    const token = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'ab'.repeat(32), requestId: id }, '0.3', new Date(IAT * 1000));
    const payload = JSON.parse(fromBase64url(token.split('.')[1]));
    assert.strictEqual(payload.sub, id);
    assert.deepStrictEqual(payload.nats, { hash: 'ab'.repeat(32), name: 'echo', version: 2 });
    assert.deepStrictEqual(Object.keys(payload.nats), ['hash', 'name', 'version']);
    const jti = base32ByHand(createHash('sha512-256').update(`{"iat":${IAT},"iss":"${iss}","sub":"${id}"}`).digest());
    assert.strictEqual(payload.jti, jti);
  });

  it('round trip: verify returns the decoded claims; exp and nbf sit where Go\'s ClaimsData puts them', () => {
    const now = new Date();
    const token = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h', expires: new Date(now.getTime() + 60000), notBefore: new Date(now.getTime() - 60000) }, '0.2', now);
    const claims = verifyWorkloadJwt(token, { version: '0.2', allowedIssuers: [iss] });
    assert.deepStrictEqual(claims, decodeWorkloadJwt(token));
    assert.strictEqual(claims.iss, iss);
    assert.strictEqual(claims.sub, 'echo');
    assert.deepStrictEqual(Object.keys(claims), ['exp', 'jti', 'iat', 'iss', 'nbf', 'sub', 'nats']);
  });

  it('a token signed by another key, or with another iss, fails the signature check', () => {
    const token = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h' }, '0.2');
    const [header, payload] = token.split('.');
    const other = createAccount();
    const forged = `${header}.${payload}.${Buffer.from(other.sign(utf8(`${header}.${payload}`))).toString('base64url')}`;
    assert.throws(() => verifyWorkloadJwt(forged), { message: 'could not decode workload JWT: claim failed V2 signature verification' });
    const claims = JSON.parse(fromBase64url(payload));
    const swapped = signByHand(issuer, '{"typ":"JWT","alg":"ed25519-nkey"}', JSON.stringify({ ...claims, iss: other.getPublicKey() }));
    assert.throws(() => verifyWorkloadJwt(swapped), /claim failed V2 signature verification/);
    assert.doesNotThrow(() => decodeWorkloadJwt(forged), 'decoding alone does not check the signature');
  });

  it('exp in the past and nbf in the future fail as the standard claims check', () => {
    const now = new Date(IAT * 1000);
    const expired = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h', expires: new Date((IAT - 1) * 1000) }, '0.2', now);
    assert.throws(() => verifyWorkloadJwt(expired, { now }), { message: 'standard claims within JWT are not valid: claim is expired' });
    const early = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h', notBefore: new Date((IAT + 60) * 1000) }, '0.2', now);
    assert.throws(() => verifyWorkloadJwt(early, { now }), { message: 'standard claims within JWT are not valid: claim is not yet valid' });
    assert.doesNotThrow(() => verifyWorkloadJwt(early, { now: new Date((IAT + 60) * 1000) }));
  });

  it('an issuer outside the allow-list fails; an empty list allows every issuer', () => {
    const token = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h' }, '0.2');
    const someoneElse = createAccount().getPublicKey();
    assert.throws(() => verifyWorkloadJwt(token, { allowedIssuers: [someoneElse] }), { message: `invalid workload issuer: ${iss}` });
    assert.doesNotThrow(() => verifyWorkloadJwt(token, { allowedIssuers: [] }));
  });

  it('checks the name and hash as a node of each version does, with its texts', () => {
    const bad02 = signByHand(issuer, '{"typ":"JWT","alg":"ed25519-nkey"}', `{"jti":"X","iat":${IAT},"iss":"${iss}","sub":"echo.js","nats":{"hash":"h","version":2}}`);
    assert.throws(() => verifyWorkloadJwt(bad02, { version: '0.2' }), { message: "workload name claim ('echo.js') does not match requirements (^[a-zA-Z0-9_-]+$)" });
    assert.throws(() => verifyWorkloadJwt(bad02, { version: '0.3' }), /^Error: invalid workload name: the JWT has no nats.name string/);
    const token03 = encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h1', requestId: 'r' }, '0.3');
    assert.throws(() => verifyWorkloadJwt(token03, { version: '0.3', requestHash: 'h2' }), { message: 'artifact hash claim does not match request' });
    assert.strictEqual(verifyWorkloadJwt(token03, { version: '0.3', requestHash: 'h1' }).nats.name, 'echo');
  });

  it('refuses malformed tokens with nats-io/jwt\'s texts', () => {
    const payload = Buffer.from(`{"iat":${IAT},"iss":"${iss}","sub":"echo"}`).toString('base64url');
    const cases: Array<[string, string | RegExp]> = [
      ['a.b', 'could not decode workload JWT: expected 3 chunks'],
      [`${Buffer.from('{"typ":"JWS","alg":"ed25519-nkey"}').toString('base64url')}.${payload}.AA`, 'could not decode workload JWT: not supported type "JWS"'],
      [`${Buffer.from('{"typ":"JWT","alg":"HS256"}').toString('base64url')}.${payload}.AA`, 'could not decode workload JWT: unexpected "HS256" algorithm'],
      [`${Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString('base64')}.${payload}.AA`, /the header is not base64url without padding: illegal base64 data at input byte \d+/],
      [`${Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString('base64url')}.${Buffer.from('{"iss":5}').toString('base64url')}.AA`, 'could not decode workload JWT: the claim "iss" is 5, not a string'],
    ];
    for (const [token, expected] of cases) {
      assert.throws(() => decodeWorkloadJwt(token), typeof expected === 'string' ? { message: expected } : expected, token);
    }
  });

  it('refuses to sign what a node would refuse', () => {
    assert.throws(() => encodeWorkloadJwt(issuer, { name: 'echo.js', hash: 'h' }, '0.2'), /may only contain letters, digits/);
    assert.throws(() => encodeWorkloadJwt(issuer, { name: 'echo', hash: 'h' }, '0.3'), /needs the deploy request id/);
    assert.throws(() => encodeWorkloadJwt(createCurve(), { name: 'echo', hash: 'h' }, '0.2'), /not a curve xkey/);
  });
});

describe('Nex protocol: environment sealed with xkeys', () => {
  const sender = createCurve();
  const node = createCurve();

  it('round trip, in the xkv1 format: header, 24-byte nonce, box; base64 std padded', () => {
    const env = { b: '2', A: '<1 & 2>' };
    const sealed = sealEnvironment(env, sender, node.getPublicKey());
    assert.match(sealed, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.strictEqual(sealed.length % 4, 0);
    assert.deepStrictEqual(openEnvironment(sealed, node, sender.getPublicKey()), env);
    const raw = Buffer.from(sealed, 'base64');
    assert.strictEqual(raw.subarray(0, 4).toString('latin1'), 'xkv1');
    const plaintext = '{"A":"\\u003c1 \\u0026 2\\u003e","b":"2"}';
    assert.strictEqual(raw.length, 4 + 24 + 16 + plaintext.length, 'header, nonce, poly1305 tag and the JSON');
    assert.strictEqual(Buffer.from(node.open(raw, sender.getPublicKey()) ?? []).toString(), plaintext, 'Go map JSON: keys sorted, HTML escaped');
    const again = Buffer.from(sealEnvironment(env, sender, node.getPublicKey()), 'base64');
    assert.notDeepStrictEqual(again.subarray(4, 28), raw.subarray(4, 28), 'a fresh nonce every time');
  });

  it('seals an empty environment too', () => {
    assert.deepStrictEqual(openEnvironment(sealEnvironment({}, sender, node.getPublicKey()), node, sender.getPublicKey()), {});
  });

  it('says which key is wrong', () => {
    const sealed = sealEnvironment({ a: '1' }, sender, node.getPublicKey());
    const wrongNode = /cannot be opened with this node's xkey.*\(nkeys: could not decrypt input\)/;
    assert.throws(() => openEnvironment(sealed, createCurve(), sender.getPublicKey()), wrongNode);
    assert.throws(() => openEnvironment(sealed, node, createCurve().getPublicKey()), wrongNode);
    assert.throws(() => openEnvironment(sealed, node, createAccount().getPublicKey()), /sender_public_key "A\w+" is not a public curve key \(X…\) \(nkeys: not a valid sender public curve key\)/);
    assert.throws(() => sealEnvironment({}, sender, createServer().getPublicKey()), /the node's xkey "N\w+" is not a public curve key/);
    assert.throws(() => sealEnvironment({}, createAccount(), node.getPublicKey()), /must be sealed with a curve key pair/);
  });

  it('says what is wrong with garbage', () => {
    const senderKey = sender.getPublicKey();
    assert.throws(() => openEnvironment('not base64!', node, senderKey), { message: 'the environment is not base64 (standard alphabet, padded): illegal base64 data at input byte 3' });
    assert.throws(() => openEnvironment(Buffer.from('short').toString('base64'), node, senderKey), /too short \(5 bytes\).*\(nkeys: encrypted input is not valid\)/);
    assert.throws(() => openEnvironment(Buffer.from('x'.repeat(64)).toString('base64'), node, senderKey), /not an xkv1 envelope.*\(nkeys: encrypted input wrong version\)/);
    const sealRaw = (json: string) => Buffer.from(sender.seal(utf8(json), node.getPublicKey())).toString('base64');
    assert.throws(() => openEnvironment(sealRaw('{"a":'), node, senderKey), /the opened environment is not JSON/);
    assert.throws(() => openEnvironment(sealRaw('["a"]'), node, senderKey), { message: 'the opened environment is not a JSON object of strings but an array' });
    assert.throws(() => openEnvironment(sealRaw('{"a":1}'), node, senderKey), { message: 'the opened environment is not a JSON object of strings: "a" is a number' });
    assert.deepStrictEqual(openEnvironment(sealRaw('null'), node, senderKey), {}, 'Go reads null into an empty map');
  });
});

describe('Nex protocol: Go encodings', () => {
  it('decodes base64 as Go does, with its error offsets', () => {
    assert.strictEqual(Buffer.from(decodeGoBase64('YQ==', 'std')).toString(), 'a');
    assert.strictEqual(Buffer.from(decodeGoBase64('YW\r\nJj', 'std')).toString(), 'abc');
    assert.strictEqual(Buffer.from(decodeGoBase64('YQ', 'rawurl')).toString(), 'a');
    assert.strictEqual(Buffer.from(decodeGoBase64('_-8', 'rawurl')).toString('hex'), 'ffef');
    const offsets: Array<[string, 'std' | 'rawurl', number]> = [
      ['YQ', 'std', 0],
      ['YQ=', 'std', 3],
      ['YQ=x', 'std', 2],
      ['YQ==YQ==', 'std', 4],
      ['Y', 'rawurl', 0],
      ['YQ==', 'rawurl', 2],
      ['_-8', 'std', 0],
    ];
    for (const [text, encoding, offset] of offsets) {
      assert.throws(() => decodeGoBase64(text, encoding), { message: `illegal base64 data at input byte ${offset}` }, `${encoding} ${text}`);
    }
  });

  it('writes JSON with Go\'s HTML escapes', () => {
    assert.strictEqual(goJson({ a: '<b> & \u2028' }), '{"a":"\\u003cb\\u003e \\u0026 \\u2028"}');
  });
});

describe('Nex protocol: location as a Go url.URL', () => {
  it('encodes every field of the struct, as the reference shows it', () => {
    assert.strictEqual(
      goJson(encodeLocation('NEXCLIFILES', 'echofunctionjs')),
      '{"Scheme":"nats","Opaque":"","User":null,"Host":"NEXCLIFILES","Path":"/echofunctionjs","RawPath":"","OmitHost":false,"ForceQuery":false,"RawQuery":"","Fragment":"","RawFragment":""}',
    );
    assert.throws(() => encodeLocation('my.bucket', 'k'), /not an object-store bucket name/);
    assert.throws(() => encodeLocation('B', ''), /must not be empty/);
    assert.throws(() => encodeLocation('B', 'k/'), /start or end with "\/"/);
  });

  it('decodes as a node reads it: Host is the bucket, Path trimmed of "/" the key', () => {
    assert.deepStrictEqual(decodeLocation(JSON.parse(goJson(encodeLocation('NEXCLIFILES', 'echofunctionjs')))), { bucket: 'NEXCLIFILES', key: 'echofunctionjs' });
    assert.deepStrictEqual(decodeLocation({ Scheme: 'nats', Host: 'B', Path: '/k' }), { bucket: 'B', key: 'k' });
    assert.deepStrictEqual(decodeLocation({ host: 'B', PATH: '//dir/k/', Extra: 1 }), { bucket: 'B', key: 'dir/k' }, 'Go matches field names case-insensitively');
  });

  it('refuses a plain string with the node\'s error, and other wrong shapes', () => {
    assert.throws(() => decodeLocation('nats://NEXCLIFILES/echofunctionjs'), { message: 'json: cannot unmarshal string into Go struct field DeployRequest.location of type url.URL' });
    assert.throws(() => decodeLocation([]), { message: 'json: cannot unmarshal array into Go struct field DeployRequest.location of type url.URL' });
    assert.throws(() => decodeLocation({ Host: 5 }), { message: 'json: cannot unmarshal number into Go struct field URL.location.Host of type string' });
    assert.throws(() => decodeLocation(undefined), /no location \(a 0\.2\.7 node crashes on this\)/);
  });
});

describe('Nex protocol: deploy request bodies', () => {
  const issuer = createAccount();
  const sender = createCurve();
  const node = createCurve();
  const nodeId = createServer().getPublicKey();
  const hash = createHash('sha256').update('(subject, payload) => payload').digest('hex');
  const inputs = (more: Partial<FunctionDeployInputs> = {}): FunctionDeployInputs => ({
    name: 'echo',
    type: 'v8',
    bucket: 'NEXCLIFILES',
    key: 'echo',
    hash,
    triggerSubjects: ['hello.echo'],
    senderXKey: sender,
    nodeId,
    nodePublicXKey: node.getPublicKey(),
    issuer,
    ...more,
  });

  it('0.2: the fields of §1.4, in Go order, the name in the JWT sub', () => {
    const body = buildDeployRequest02(inputs());
    assert.deepStrictEqual(Object.keys(body), ['description', 'type', 'location', 'workload_jwt', 'environment', 'sender_public_key', 'target_node', 'trigger_subjects']);
    assert.strictEqual(body.description, '');
    assert.strictEqual(body.type, 'v8');
    assert.deepStrictEqual(body.location, encodeLocation('NEXCLIFILES', 'echo'));
    assert.deepStrictEqual(openEnvironment(body.environment, node, body.sender_public_key), {});
    assert.strictEqual(body.sender_public_key, sender.getPublicKey());
    assert.strictEqual(body.target_node, nodeId);
    assert.deepStrictEqual(body.trigger_subjects, ['hello.echo']);
    const claims = verifyWorkloadJwt(body.workload_jwt, { version: '0.2' });
    assert.strictEqual(claims.sub, 'echo');
    assert.strictEqual(claims.iss, issuer.getPublicKey());
    assert.deepStrictEqual(claims.nats, { hash, version: 2 });
    assert.deepStrictEqual(JSON.parse(deployRequestJson(body)), body);
  });

  it('0.2: optional fields when given; host_services, never host_services_config', () => {
    const hostServices = { nats_url: 'nats://127.0.0.1:4222', nats_user_jwt: '', nats_user_seed: '' };
    const body = buildDeployRequest02(inputs({ description: 'echo <it>', environment: { GREETING: 'hi' }, jsDomain: 'hub', hostServices }));
    assert.deepStrictEqual(Object.keys(body), ['description', 'type', 'location', 'workload_jwt', 'environment', 'jsdomain', 'sender_public_key', 'target_node', 'trigger_subjects', 'host_services']);
    assert.deepStrictEqual(body.host_services, hostServices);
    assert.ok(!('host_services_config' in body));
    assert.deepStrictEqual(openEnvironment(body.environment, node, body.sender_public_key), { GREETING: 'hi' });
    assert.ok(deployRequestJson(body).includes('"description":"echo \\u003cit\\u003e"'), 'Go escapes HTML characters');
  });

  it('0.3: the fields of §1.5, in Go order; sub = id, nats.name and nats.hash strings', () => {
    const body = buildDeployRequest03(inputs({ type: 'wasm' }));
    assert.deepStrictEqual(Object.keys(body), ['description', 'hash', 'location', 'environment', 'id', 'sender_public_key', 'target_node', 'trigger_subjects', 'workload_name', 'workload_jwt', 'type']);
    assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.strictEqual(body.hash, hash);
    assert.strictEqual(body.workload_name, 'echo');
    assert.strictEqual(body.type, 'wasm');
    assert.strictEqual(body.description, '');
    assert.strictEqual(body.target_node, nodeId);
    assert.deepStrictEqual(openEnvironment(body.environment, node, body.sender_public_key), {});
    const claims = verifyWorkloadJwt(body.workload_jwt, { version: '0.3', requestHash: body.hash });
    assert.strictEqual(claims.sub, body.id);
    assert.strictEqual(claims.nats.name, 'echo');
    assert.strictEqual(claims.nats.hash, hash);
    assert.strictEqual(typeof claims.nats.name, 'string');
    assert.strictEqual(typeof claims.nats.hash, 'string');
  });

  it('0.3: host_services_config, never host_services; a given request id is used', () => {
    const hostServices = { nats_url: 'nats://127.0.0.1:4222', nats_user_jwt: 'jwt', nats_user_seed: 'SU…' };
    const body = buildDeployRequest('0.3', inputs({ hostServices, requestId: 'req-1', jsDomain: 'hub' }));
    assert.deepStrictEqual(Object.keys(body), ['description', 'hash', 'location', 'environment', 'id', 'jsdomain', 'sender_public_key', 'target_node', 'trigger_subjects', 'host_services_config', 'workload_name', 'workload_jwt', 'type']);
    assert.ok(!('host_services' in body));
    assert.strictEqual((body as { id: string }).id, 'req-1');
    assert.strictEqual(decodeWorkloadJwt(body.workload_jwt).sub, 'req-1');
  });

  it('refuses what a node would refuse', () => {
    assert.throws(() => buildDeployRequest02(inputs({ triggerSubjects: [] })), /a v8 function needs at least one trigger subject/);
    assert.throws(() => buildDeployRequest03(inputs({ triggerSubjects: ['$NEX.echo'] })), /trigger subject "\$NEX\.echo": subjects under \$NEX/);
    assert.throws(() => buildDeployRequest02(inputs({ name: 'echo.js' })), /the workload name "echo.js" may only contain/);
    assert.throws(() => buildDeployRequest03(inputs({ bucket: 'a.b' })), /not an object-store bucket name/);
  });
});
