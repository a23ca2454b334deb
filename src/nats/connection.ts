/**
 * Connecting to NATS the ways NATS users do: server URLs, a creds file, an nkey seed file,
 * user/password, a token, TLS files, an inbox prefix, a JetStream domain; and the contexts the
 * `nats` CLI keeps. Secrets typed in by the user (password, token, a pasted seed) come in
 * separately, never inside the profile, so a profile can be shown and logged as it is.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';

/** How to reach and authenticate to NATS; paths and names only, no secrets. */
export interface ConnectionProfile {
  /** Server URLs, e.g. ["nats://127.0.0.1:4222"]. */
  servers: string[];
  credsFile?: string;
  nkeySeedFile?: string;
  user?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; handshakeFirst?: boolean };
  inboxPrefix?: string;
  jsDomain?: string;
}

/** Secrets that do not live in files: from VS Code's SecretStorage or a nats CLI context. */
export interface ConnectionSecrets {
  password?: string;
  token?: string;
  /** An nkey seed (S…), pasted rather than kept in a file. */
  nkeySeed?: string;
}

/** A profile that cannot be used as it is; the message names the field (and the file). */
export class ConnectionConfigError extends Error {
  override name = 'ConnectionConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Splits "nats://a:4222, b:4223" into URLs; a bare host:port gets nats://. */
export function parseServers(text: string): string[] {
  const servers = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) {
    throw new ConnectionConfigError('servers', 'give at least one server URL, e.g. nats://127.0.0.1:4222');
  }
  return servers.map((s) => {
    const url = /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConnectionConfigError('servers', `"${s}" is not a server URL: write nats://host:port`);
    }
    if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(parsed.protocol)) {
      throw new ConnectionConfigError('servers', `"${s}": use nats://, tls://, ws:// or wss://`);
    }
    return url;
  });
}

function readFileField(field: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConnectionConfigError(field, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The nats.js options for a profile and its secrets. Reads the creds and seed files; throws ConnectionConfigError. */
export function connectionOptions(profile: ConnectionProfile, secrets: ConnectionSecrets = {}, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  const options: ConnectionOptions = { servers: profile.servers, ...extra };
  const ways = [profile.credsFile && 'credsFile', (profile.nkeySeedFile || secrets.nkeySeed) && 'nkey seed', profile.user && 'user', secrets.token && 'token'].filter(Boolean);
  if (ways.length > 1) {
    throw new ConnectionConfigError('authentication', `use one way to authenticate, not ${ways.join(' and ')}`);
  }
  if (profile.credsFile) {
    const creds = readFileField('credsFile', profile.credsFile);
    if (!/-----BEGIN NATS USER JWT-----/.test(creds) || !/-----BEGIN USER NKEY SEED-----/.test(creds)) {
      throw new ConnectionConfigError('credsFile', `${profile.credsFile} is not a NATS creds file (it has no "BEGIN NATS USER JWT" and "BEGIN USER NKEY SEED" blocks)`);
    }
    options.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  }
  const seed = profile.nkeySeedFile ? readFileField('nkeySeedFile', profile.nkeySeedFile).trim() : secrets.nkeySeed?.trim();
  if (seed !== undefined) {
    if (!/^SU[A-Z2-7]{56}$/.test(seed)) {
      throw new ConnectionConfigError(profile.nkeySeedFile ? 'nkeySeedFile' : 'nkey seed', `${profile.nkeySeedFile ?? 'the seed'} does not hold a user nkey seed (58 characters starting with SU)`);
    }
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (profile.user) {
    if (secrets.password === undefined || secrets.password === '') {
      // Checked here: the server would only say "Authorization Violation", as for a wrong password.
      throw new ConnectionConfigError('password', `no password was given for the user "${profile.user}": give the password (or leave out the user)`);
    }
    options.user = profile.user;
    options.pass = secrets.password;
  }
  if (secrets.token) {
    options.token = secrets.token;
  }
  if (profile.tls) {
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      const file = profile.tls[key];
      if (file && !fs.existsSync(file)) {
        throw new ConnectionConfigError(`tls.${key}`, `cannot read ${file}: no such file`);
      }
    }
    if ((profile.tls.certFile === undefined) !== (profile.tls.keyFile === undefined)) {
      throw new ConnectionConfigError('tls', 'a client certificate needs both certFile and keyFile');
    }
    options.tls = { ...profile.tls };
  }
  if (profile.inboxPrefix) {
    options.inboxPrefix = profile.inboxPrefix;
  }
  return options;
}

/**
 * What a failed connect means, in one line a user can act on: the server's own words where it sent
 * some (e.g. "Authorization Violation"), with a hint.
 */
export function describeConnectError(e: unknown, profile: ConnectionProfile): string {
  const message = (e as Error)?.message ?? String(e);
  const where = profile.servers.join(', ');
  if (/authorization violation|authentication/i.test(message) || (e as Error)?.name === 'AuthorizationError') {
    return `${where} refused the credentials (the server said: ${message}): check the user, password, token, creds or nkey of this connection`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timeout|connection refused|CONNECTION_REFUSED/i.test(message) || (e as { code?: string })?.code === 'CONNECTION_REFUSED') {
    return `cannot reach ${where} (${message}): is the NATS server running there, and is the URL right?`;
  }
  if (/tls|certificate|self.signed|SSL/i.test(message)) {
    return `TLS with ${where} failed (${message}): check the CA, certificate and key files, and whether the server requires TLS`;
  }
  return `cannot connect to ${where}: ${message}`;
}

/** Connects, with errors from describeConnectError; reconnects forever once connected. */
export async function connectNats(profile: ConnectionProfile, secrets: ConnectionSecrets = {}, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const options = connectionOptions(profile, secrets, { maxReconnectAttempts: -1, reconnectTimeWait: 500, ...extra });
  try {
    return await connect(options);
  } catch (e) {
    throw new Error(describeConnectError(e, profile), { cause: e });
  }
}

/**
 * Tries a profile as a check before it is saved: connects once (no retries) and closes again.
 * Undefined when it connected, else what went wrong in describeConnectError's words (or the
 * ConnectionConfigError naming the field).
 */
export async function tryConnection(profile: ConnectionProfile, secrets: ConnectionSecrets = {}, timeoutMs = 5000): Promise<string | undefined> {
  let nc: NatsConnection;
  try {
    nc = await connectNats(profile, secrets, { maxReconnectAttempts: 0, reconnect: false, timeout: timeoutMs, name: 'nex-functions (trying a connection)' });
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  }
  await nc.close().catch(() => undefined);
  return undefined;
}

/** A context of the `nats` CLI: its name, its file, whether it is the selected one, and what it holds. */
export interface NatsContext {
  name: string;
  file: string;
  selected: boolean;
  description?: string;
  profile: ConnectionProfile;
  secrets: ConnectionSecrets;
}

/** The nats CLI's configuration folder: $XDG_CONFIG_HOME/nats, else ~/.config/nats. */
export function natsConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'nats');
}

/** The contexts the nats CLI keeps (context/<name>.json), with the one selected in context.txt. */
export function listNatsContexts(configDir: string = natsConfigDir()): NatsContext[] {
  const dir = path.join(configDir, 'context');
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  let selected: string | undefined;
  try {
    selected = fs.readFileSync(path.join(configDir, 'context.txt'), 'utf8').trim();
  } catch {
    selected = undefined;
  }
  return files.sort().map((f) => readNatsContext(path.join(dir, f), path.basename(f, '.json') === selected));
}

/** One context by name (as `nats --context NAME` takes it). */
export function loadNatsContext(name: string, configDir: string = natsConfigDir()): NatsContext {
  const found = listNatsContexts(configDir).find((c) => c.name === name);
  if (!found) {
    const known = listNatsContexts(configDir).map((c) => c.name);
    throw new ConnectionConfigError('context', `no nats context "${name}" in ${path.join(configDir, 'context')}${known.length ? ` (there are: ${known.join(', ')})` : ''}`);
  }
  return found;
}

/** Reads one nats CLI context file (fields as `nats context save` writes them). */
export function readNatsContext(file: string, selected = false): NatsContext {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConnectionConfigError('context', `${file}: ${(e as Error).message}`);
  }
  const text = (key: string): string | undefined => (typeof raw[key] === 'string' && raw[key] !== '' ? (raw[key] as string) : undefined);
  const expand = (p: string | undefined) => (p?.startsWith('~') ? path.join(os.homedir(), p.slice(1)) : p);
  const profile: ConnectionProfile = { servers: parseServers(text('url') ?? 'nats://127.0.0.1:4222') };
  if (text('creds')) profile.credsFile = expand(text('creds'));
  if (text('nkey')) profile.nkeySeedFile = expand(text('nkey'));
  if (text('user')) profile.user = text('user');
  if (text('ca') || text('cert') || text('key') || raw.tls_first === true) {
    profile.tls = { caFile: expand(text('ca')), certFile: expand(text('cert')), keyFile: expand(text('key')), handshakeFirst: raw.tls_first === true || undefined };
  }
  if (text('inbox_prefix')) profile.inboxPrefix = text('inbox_prefix');
  if (text('jetstream_domain')) profile.jsDomain = text('jetstream_domain');
  const secrets: ConnectionSecrets = {};
  if (text('password')) secrets.password = text('password');
  if (text('token')) secrets.token = text('token');
  return { name: path.basename(file, '.json'), file, selected, description: text('description'), profile, secrets };
}
