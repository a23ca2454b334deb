/** The connection commands and test runs use: the current one, else the local node (the built-in default). */
import type { ConnectionManager, NexConnection } from './connectionManager';

/** The current connection; with none, the local node (started when needed), as the built-in default. */
export function currentConnection(connections: ConnectionManager): Promise<NexConnection> {
  return connections.connection ? Promise.resolve(connections.connection) : connections.connect({ kind: 'local' });
}
