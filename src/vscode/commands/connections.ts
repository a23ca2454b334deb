/** Nex: Connect…, Disconnect, Add Connection…, Edit Connection, Remove Connection. */
import { namespaceProblem } from '../../core/subject';
import { listNatsContexts, parseServers } from '../../nats/connection';
import { ConnectionTarget, NexConnection } from '../connections/connectionManager';
import { AuthKind, readSecrets, removeConnection, SavedConnection, saveConnection, savedConnections, storeSecrets } from '../connections/savedConnections';
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

/** Asks for a connection's fields (secrets apart) and saves it; `existing` pre-fills an edit. */
export async function addConnectionCommand(ext: NexExtension, existing?: SavedConnection): Promise<SavedConnection | undefined> {
  const { ui } = ext;
  const taken = new Set(savedConnections().map((c) => c.name).filter((n) => n !== existing?.name));
  const name = await ui.input({
    title: 'Nex connection (1/4): name',
    value: existing?.name ?? '',
    validate: (v) => (v.trim() === '' ? 'give the connection a name' : taken.has(v.trim()) ? 'another connection has this name' : undefined),
  });
  if (name === undefined) {
    return undefined;
  }
  const servers = await ui.input({
    title: 'Nex connection (2/4): servers',
    prompt: 'NATS server URLs, comma separated',
    value: existing?.servers ?? 'nats://127.0.0.1:4222',
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
    const file = await ui.input({ title: `Nex connection: ${auth === 'creds' ? 'creds' : 'nkey seed'} file`, prompt: 'The path of the file (it stays where it is; only its path is saved)', value: existing?.[field] ?? '' });
    if (!file) {
      return undefined;
    }
    connection[field] = file;
  } else if (auth === 'userPassword') {
    const user = await ui.input({ title: 'Nex connection: user', value: existing?.user ?? '' });
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
    value: existing?.namespace ?? 'default',
    validate: namespaceProblem,
  });
  if (namespace === undefined) {
    return undefined;
  }
  connection.namespace = namespace;
  await saveConnection(connection, existing?.name);
  if (existing && existing.name !== connection.name) {
    await storeSecrets(ext.context.secrets, existing.name, {});
  }
  const kept = existing ? await readSecrets(ext.context.secrets, existing.name) : {};
  await storeSecrets(ext.context.secrets, connection.name, auth === 'userPassword' ? { password: secrets.password } : auth === 'token' ? { token: secrets.token } : auth === existing?.auth ? kept : {});
  ext.log.info(`saved the connection ${connection.name} (${connection.servers}, ${auth})`);
  return connection;
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
