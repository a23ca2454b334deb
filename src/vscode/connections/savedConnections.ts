/**
 * Saved NATS connections: names, URLs and file paths live in the `nex.connections` setting; what is
 * typed in (a password, a token, a pasted nkey seed) lives only in VS Code's SecretStorage.
 */
import { ConfigurationTarget, SecretStorage, workspace as Workspace } from 'vscode';
import { ConnectionProfile, ConnectionSecrets, parseServers } from '../../nats/connection';

export type AuthKind = 'none' | 'creds' | 'nkey' | 'userPassword' | 'token';

/** A connection as the `nex.connections` setting holds it: never a secret. */
export interface SavedConnection {
  name: string;
  /** Server URLs, comma separated. */
  servers: string;
  auth?: AuthKind;
  credsFile?: string;
  nkeySeedFile?: string;
  user?: string;
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  inboxPrefix?: string;
  jsDomain?: string;
  /** The Nex namespace to show and deploy to (default "default"). */
  namespace?: string;
}

const SETTING = 'connections';

export function savedConnections(): SavedConnection[] {
  const list = Workspace.getConfiguration('nex').get<SavedConnection[]>(SETTING) ?? [];
  return list.filter((c) => c && typeof c.name === 'string' && typeof c.servers === 'string');
}

/** Adds or replaces (by name) a saved connection, in the user settings. */
export async function saveConnection(connection: SavedConnection, replacing?: string): Promise<void> {
  const others = savedConnections().filter((c) => c.name !== connection.name && c.name !== replacing);
  await Workspace.getConfiguration('nex').update(SETTING, [...others, connection], ConfigurationTarget.Global);
}

export async function removeConnection(name: string, secrets: SecretStorage): Promise<void> {
  await Workspace.getConfiguration('nex').update(
    SETTING,
    savedConnections().filter((c) => c.name !== name),
    ConfigurationTarget.Global,
  );
  await secrets.delete(secretKey(name));
}

function secretKey(name: string): string {
  return `nex.connection:${name}`;
}

export async function readSecrets(secrets: SecretStorage, name: string): Promise<ConnectionSecrets> {
  const raw = await secrets.get(secretKey(name));
  if (!raw) {
    return {};
  }
  try {
    return JSON.parse(raw) as ConnectionSecrets;
  } catch {
    return {};
  }
}

export async function storeSecrets(secrets: SecretStorage, name: string, values: ConnectionSecrets): Promise<void> {
  const kept = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
  if (Object.keys(kept).length === 0) {
    await secrets.delete(secretKey(name));
  } else {
    await secrets.store(secretKey(name), JSON.stringify(kept));
  }
}

/** The client profile of a saved connection (throws ConnectionConfigError naming the field). */
export function profileOf(connection: SavedConnection): ConnectionProfile {
  const profile: ConnectionProfile = { servers: parseServers(connection.servers) };
  if (connection.auth === 'creds' && connection.credsFile) profile.credsFile = connection.credsFile;
  if (connection.auth === 'nkey' && connection.nkeySeedFile) profile.nkeySeedFile = connection.nkeySeedFile;
  if (connection.auth === 'userPassword' && connection.user) profile.user = connection.user;
  if (connection.tlsCaFile || connection.tlsCertFile || connection.tlsKeyFile) {
    profile.tls = { caFile: connection.tlsCaFile, certFile: connection.tlsCertFile, keyFile: connection.tlsKeyFile };
  }
  if (connection.inboxPrefix) profile.inboxPrefix = connection.inboxPrefix;
  if (connection.jsDomain) profile.jsDomain = connection.jsDomain;
  return profile;
}
