/** Nex: Connect…, Disconnect, Add Connection…, Edit Connection, Remove Connection. */
import { deployNamespaces, isValid } from '../../core/manifest';
import { DEFAULT_NAMESPACE, namespaceProblem } from '../../core/subject';
import { ConnectionSecrets, listNatsContexts, parseServers, tryConnection } from '../../nats/connection';
import { ConnectionTarget, NexConnection } from '../connections/connectionManager';
import { AuthKind, profileOf, readSecrets, removeConnection, SavedConnection, saveConnection, savedConnections, storeSecrets } from '../connections/savedConnections';
import type { NexExtension } from '../nexExtension';
import { requireTrust } from './functionPick';

/** Connects to a target given by a script or picked: the local node, a saved connection, a nats context. */
export async function connectCommand(ext: NexExtension, scripted?: ConnectionTarget): Promise<NexConnection | undefined> {
  const target = scripted ?? (await pickTarget(ext));
  if (!target) {
    return undefined;
  }
  if (target.kind === 'local' && !(await requireTrust(ext))) {
    return undefined;
  }
  return ext.connections.connect(target);
}

async function pickTarget(ext: NexExtension): Promise<ConnectionTarget | undefined> {
  const local = ext.localNode.host;
  const items: Array<{ label: string; description?: string; detail?: string; value: ConnectionTarget | 'add' }> = [
    {
      label: '$(server) Local Nex node',
      description: local ? `running on ${local.natsUrl}` : 'starts it',
      detail: 'A Nex node on this machine, on its own nats-server',
      value: { kind: 'local' },
    },
    // The local node in each other namespace the workspace deploys to.
    ...deployNamespaces(ext.catalog.functions.filter(isValid))
      .filter((ns) => ns !== DEFAULT_NAMESPACE)
      .map((ns) => ({ label: `$(server) Local Nex node · ${ns}`, description: `namespace ${ns}`, detail: 'The local node, with this namespace for deploys and the Deployed view', value: { kind: 'local' as const, namespace: ns } })),
    ...savedConnections().map((c) => ({ label: `$(plug) ${c.name}`, description: c.servers, detail: c.namespace ? `namespace ${c.namespace}` : undefined, value: { kind: 'saved' as const, name: c.name } })),
    ...listNatsContexts().map((c) => ({
      label: `$(terminal) ${c.name}`,
      description: `nats context${c.selected ? ' (selected)' : ''} · ${c.profile.servers.join(', ')}`,
      detail: c.description,
      value: { kind: 'context' as const, name: c.name },
    })),
    { label: '$(add) Add Connection…', value: 'add' },
  ];
  const picked = await ext.ui.pick(items, { title: 'Nex: Connect', placeHolder: 'Where are your Nex nodes?' });
  if (picked === 'add') {
    const saved = await addConnectionCommand(ext);
    return saved ? { kind: 'saved', name: saved.name } : undefined;
  }
  return picked;
}

export function disconnectCommand(ext: NexExtension): void {
  ext.connections.disconnect();
}

/** What Save Anyway and Edit Again are called when a connection did not connect. */
export const SAVE_ANYWAY = 'Save Anyway';
export const EDIT_AGAIN = 'Edit Again';

/**
 * Asks for a connection's fields (secrets apart), tries it, and saves it; `existing` pre-fills an
 * edit. When the try fails, the server's words are shown with Save Anyway and Edit Again (asked
 * again, pre-filled with what was typed); dismissing saves nothing. When the connection edited is
 * the current one, it reconnects with what was saved.
 */
export async function addConnectionCommand(ext: NexExtension, existing?: SavedConnection): Promise<SavedConnection | undefined> {
  let prefill = existing;
  for (;;) {
    const draft = await askConnection(ext, existing, prefill);
    if (!draft) {
      return undefined;
    }
    const { connection } = draft;
    const secrets = await secretsToKeep(ext, draft, existing);
    const problem = await tryDraft(connection, secrets);
    if (problem !== undefined) {
      ext.log.warn(`the connection ${connection.name} did not connect: ${problem}`);
      const choice = await ext.ui.warn(`Nex: the connection ${connection.name} did not connect: ${problem}`, SAVE_ANYWAY, EDIT_AGAIN);
      if (choice === EDIT_AGAIN) {
        prefill = connection;
        continue;
      }
      if (choice !== SAVE_ANYWAY) {
        return undefined;
      }
    }
    await saveConnection(connection, existing?.name);
    if (existing && existing.name !== connection.name) {
      await storeSecrets(ext.context.secrets, existing.name, {});
    }
    await storeSecrets(ext.context.secrets, connection.name, secrets);
    ext.log.info(`saved the connection ${connection.name} (${connection.servers}, ${connection.auth})${problem === undefined ? ', tried: it connects' : ', though it did not connect'}`);
    await reconnectIfCurrent(ext, existing, connection);
    return connection;
  }
}

/** A connection as typed in, and the secrets typed with it. */
interface ConnectionDraft {
  connection: SavedConnection;
  typed: { password?: string; token?: string };
}

/** The secrets a draft is saved with: what was typed, else (same authentication) what the edited connection had. */
async function secretsToKeep(ext: NexExtension, draft: ConnectionDraft, existing: SavedConnection | undefined): Promise<ConnectionSecrets> {
  const { auth } = draft.connection;
  if (auth === 'userPassword') {
    return { password: draft.typed.password };
  }
  if (auth === 'token') {
    return { token: draft.typed.token };
  }
  return existing && auth === existing.auth ? readSecrets(ext.context.secrets, existing.name) : {};
}

/** Why a draft does not connect (a field that cannot be used, or the server's words), or undefined when it does. */
async function tryDraft(connection: SavedConnection, secrets: ConnectionSecrets): Promise<string | undefined> {
  let profile;
  try {
    profile = profileOf(connection);
  } catch (e) {
    return (e as Error).message;
  }
  return tryConnection(profile, secrets);
}

/** Connects again when the connection just edited is the current one (connected, or offline after failing). */
async function reconnectIfCurrent(ext: NexExtension, existing: SavedConnection | undefined, saved: SavedConnection): Promise<void> {
  const current = ext.connections.target;
  if (!existing || current?.kind !== 'saved' || current.name !== existing.name) {
    return;
  }
  ext.log.info(`reconnecting to ${saved.name} with the edited settings`);
  try {
    await ext.connections.connect({ kind: 'saved', name: saved.name });
  } catch (e) {
    void ext.ui.error(`Nex: ${saved.name} did not reconnect: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** Asks for a connection's fields; `existing` is the connection edited (its name may stay), `prefill` what the prompts start with. */
async function askConnection(ext: NexExtension, existing: SavedConnection | undefined, prefill: SavedConnection | undefined): Promise<ConnectionDraft | undefined> {
  const { ui } = ext;
  const taken = new Set(savedConnections().map((c) => c.name).filter((n) => n !== existing?.name));
  const name = await ui.input({
    title: 'Nex connection (1/4): name',
    value: prefill?.name ?? '',
    validate: (v) => (v.trim() === '' ? 'give the connection a name' : taken.has(v.trim()) ? 'another connection has this name' : undefined),
  });
  if (name === undefined) {
    return undefined;
  }
  const servers = await ui.input({
    title: 'Nex connection (2/4): servers',
    prompt: 'NATS server URLs, comma separated',
    value: prefill?.servers ?? 'nats://127.0.0.1:4222',
    validate: (v) => {
      try {
        parseServers(v);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    },
  });
  if (servers === undefined) {
    return undefined;
  }
  const auth = await ui.pick<AuthKind>(
    [
      { label: 'No authentication', value: 'none' },
      { label: 'Creds file', description: 'a .creds file (JWT and seed)', value: 'creds' },
      { label: 'NKey seed file', value: 'nkey' },
      { label: 'User and password', description: 'the password goes to the secret storage', value: 'userPassword' },
      { label: 'Token', description: 'goes to the secret storage', value: 'token' },
    ],
    { title: 'Nex connection (3/4): authentication' },
  );
  if (auth === undefined) {
    return undefined;
  }
  const connection: SavedConnection = { name: name.trim(), servers, auth };
  const secrets: { password?: string; token?: string } = {};
  if (auth === 'creds' || auth === 'nkey') {
    const field = auth === 'creds' ? 'credsFile' : 'nkeySeedFile';
    const file = await ui.input({ title: `Nex connection: ${auth === 'creds' ? 'creds' : 'nkey seed'} file`, prompt: 'The path of the file (it stays where it is; only its path is saved)', value: prefill?.[field] ?? '' });
    if (!file) {
      return undefined;
    }
    connection[field] = file;
  } else if (auth === 'userPassword') {
    const user = await ui.input({ title: 'Nex connection: user', value: prefill?.user ?? '' });
    if (!user) {
      return undefined;
    }
    connection.user = user;
    const password = await ui.input({ title: 'Nex connection: password', prompt: 'Kept in VS Code\'s secret storage, never in settings', password: true });
    if (password === undefined) {
      return undefined;
    }
    secrets.password = password;
  } else if (auth === 'token') {
    const token = await ui.input({ title: 'Nex connection: token', prompt: 'Kept in VS Code\'s secret storage, never in settings', password: true });
    if (token === undefined) {
      return undefined;
    }
    secrets.token = token;
  }
  const namespace = await ui.input({
    title: 'Nex connection (4/4): Nex namespace',
    value: prefill?.namespace ?? DEFAULT_NAMESPACE,
    validate: namespaceProblem,
  });
  if (namespace === undefined) {
    return undefined;
  }
  connection.namespace = namespace;
  return { connection, typed: secrets };
}

async function pickSaved(ext: NexExtension, title: string, name?: string): Promise<SavedConnection | undefined> {
  const saved = savedConnections();
  if (name) {
    return saved.find((c) => c.name === name);
  }
  if (saved.length === 0) {
    void ext.ui.info('There are no saved connections: Nex: Add Connection… makes one.');
    return undefined;
  }
  return ext.ui.pick(
    saved.map((c) => ({ label: c.name, description: c.servers, value: c })),
    { title },
  );
}

export async function editConnectionCommand(ext: NexExtension, name?: string): Promise<SavedConnection | undefined> {
  const existing = await pickSaved(ext, 'Edit which connection?', name);
  return existing ? addConnectionCommand(ext, existing) : undefined;
}

export async function removeConnectionCommand(ext: NexExtension, name?: string): Promise<boolean> {
  const existing = await pickSaved(ext, 'Remove which connection?', name);
  if (!existing) {
    return false;
  }
  const sure = name ? 'Remove' : await ext.ui.warn(`Remove the connection ${existing.name} and its stored secrets?`, 'Remove');
  if (sure !== 'Remove') {
    return false;
  }
  if (ext.connections.connection?.target.kind === 'saved' && ext.connections.connection.target.name === existing.name) {
    ext.connections.disconnect();
  }
  await removeConnection(existing.name, ext.context.secrets);
  ext.log.info(`removed the connection ${existing.name}`);
  return true;
}
