/**
 * Connecting with the connection data a Nex 0.4 node hands out (RREGISTER's `registration_creds`,
 * REGISTER's `connection_data`, STARTWORKLOAD's `workload_creds`): servers, and a user JWT and seed,
 * a user and password, or nothing (a node without an issuer hands out none).
 */
import { jwtAuthenticator, nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import * as fs from 'fs';
import type { ConnectionData } from '../nex04/types';

/** Connects as `data` says, reconnecting forever after an outage (a nexlet and its workloads outlive a server restart). */
export async function connectWithData(data: ConnectionData, name: string): Promise<NatsConnection> {
  if (!Array.isArray(data.nats_servers) || data.nats_servers.length === 0) {
    throw new Error('the connection data names no NATS server (nats_servers is empty)');
  }
  const seed = data.nats_user_seed ? new TextEncoder().encode(data.nats_user_seed) : undefined;
  const tlsGiven = data.tls_ca || data.tls_cert || data.tls_key || data.tls_first;
  return connect({
    servers: data.nats_servers,
    name: data.conn_name || name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    ...(data.nats_user_jwt && seed ? { authenticator: jwtAuthenticator(data.nats_user_jwt, seed) } : data.nats_user_nkey && seed ? { authenticator: nkeyAuthenticator(seed) } : {}),
    ...(data.nats_user_name ? { user: data.nats_user_name, pass: data.nats_user_password } : {}),
    ...(tlsGiven
      ? {
          tls: {
            ...(data.tls_ca ? { ca: fs.readFileSync(data.tls_ca, 'utf8') } : {}),
            ...(data.tls_cert ? { cert: fs.readFileSync(data.tls_cert, 'utf8') } : {}),
            ...(data.tls_key ? { key: fs.readFileSync(data.tls_key, 'utf8') } : {}),
            ...(data.tls_first ? { handshakeFirst: true } : {}),
          },
        }
      : {}),
  });
}

/** The connection data of a node without an issuer: just the servers (credentials/nocreds.go). */
export function plainConnectionData(servers: string[]): ConnectionData {
  return { conn_name: '', nats_servers: servers, nats_user_jwt: '', nats_user_name: '', nats_user_nkey: '', nats_user_password: '', nats_user_seed: '', tls_ca: '', tls_cert: '', tls_first: false, tls_key: '' };
}
