/**
 * The NATS connection flags of the `nex` CLI, for the nexfn commands that talk to nodes:
 * `--server/-s` (or $NATS_URL), `--creds`, `--nkey`, `--user`, `--password` (or $NATS_PASSWORD),
 * `--token` (or $NATS_TOKEN), `--tlscert/--tlskey/--tlsca`, `--context`, `--jsdomain`, `--namespace`.
 */
import { Command } from 'commander';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionConfigError, ConnectionProfile, ConnectionSecrets, connectNats, loadNatsContext, parseServers } from '../nats/connection';
import { DEFAULT_NAMESPACE } from '../core/subject';

export interface ConnectionFlags {
  server?: string;
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
  tlscert?: string;
  tlskey?: string;
  tlsca?: string;
  context?: string;
  jsdomain?: string;
  namespace: string;
}

/** Adds the connection flags to a command. */
export function withConnectionFlags(command: Command): Command {
  return command
    .option('-s, --server <urls>', 'NATS server URLs, comma separated (default: $NATS_URL, else nats://127.0.0.1:4222)')
    .option('--context <name>', 'a nats CLI context (its server, credentials and TLS files)')
    .option('--creds <file>', 'a NATS creds file')
    .option('--nkey <file>', 'an nkey seed file')
    .option('--user <user>', 'a user name (the password from --password or $NATS_PASSWORD)')
    .option('--password <password>', 'the password of --user')
    .option('--token <token>', 'an auth token (or $NATS_TOKEN)')
    .option('--tlscert <file>', 'a TLS client certificate')
    .option('--tlskey <file>', 'the TLS client key')
    .option('--tlsca <file>', 'a TLS CA certificate')
    .option('--jsdomain <domain>', 'the JetStream domain')
    .option('--namespace <ns>', 'the Nex namespace ($NEX_NAMESPACE, else default; a deploy takes its manifest\'s deploy.namespace over the default)', defaultNamespace());
}

/** The profile and secrets the flags describe (a context first, flags over it). */
export function profileFromFlags(flags: ConnectionFlags): { profile: ConnectionProfile; secrets: ConnectionSecrets } {
  const base = flags.context ? loadNatsContext(flags.context) : undefined;
  const profile: ConnectionProfile = { ...(base?.profile ?? { servers: parseServers(process.env.NATS_URL ?? 'nats://127.0.0.1:4222') }) };
  if (flags.server) profile.servers = parseServers(flags.server);
  if (flags.creds) profile.credsFile = flags.creds;
  if (flags.nkey) profile.nkeySeedFile = flags.nkey;
  if (flags.user) profile.user = flags.user;
  if (flags.tlscert || flags.tlskey || flags.tlsca) profile.tls = { ...profile.tls, certFile: flags.tlscert, keyFile: flags.tlskey, caFile: flags.tlsca };
  if (flags.jsdomain) profile.jsDomain = flags.jsdomain;
  const secrets: ConnectionSecrets = { ...(base?.secrets ?? {}) };
  const password = flags.password ?? process.env.NATS_PASSWORD;
  const token = flags.token ?? process.env.NATS_TOKEN;
  if (password !== undefined) secrets.password = password;
  if (token !== undefined) secrets.token = token;
  if (profile.user && !secrets.password) {
    // Said before connecting: the server would only refuse the credentials.
    const whose = flags.user ? `--user ${profile.user}` : `the user ${profile.user} of the context ${flags.context}`;
    throw new ConnectionConfigError('--password', `no password was given for ${whose}: add --password <password> or set $NATS_PASSWORD`);
  }
  return { profile, secrets };
}

/** Connects as the flags say; the error says what to fix. */
export async function connectFromFlags(flags: ConnectionFlags): Promise<{ nc: NatsConnection; profile: ConnectionProfile }> {
  const { profile, secrets } = profileFromFlags(flags);
  const nc = await connectNats(profile, secrets, { maxReconnectAttempts: 0, name: 'nexfn' });
  return { nc, profile };
}

/** The namespace when none is given: $NEX_NAMESPACE, else "default" (as the nex CLI). */
export function defaultNamespace(): string {
  return process.env.NEX_NAMESPACE ?? DEFAULT_NAMESPACE;
}
