/**
 * NATS micro services (`$SRV.PING|INFO|STATS`, endpoints in queue groups, errors in the
 * `Nats-Service-Error` headers) through @nats-io/services. Its 3.0.0-25 release pins its own
 * nats-core (3.0.0-50), whose TypeScript types differ from this project's 3.4.0 in details (an enum)
 * while the connection it uses is the same in structure and on the wire (checked: endpoints, queue
 * groups, error headers and $SRV discovery served on a 3.4.0 connection). The two casts that bridge
 * the types live here, and nowhere else.
 */
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { Svcm, type Service, type ServiceConfig, type ServiceMsg } from '@nats-io/services';

export type { Service, ServiceMsg };

/** Starts a micro service on the connection. */
export function addMicroService(nc: NatsConnection, config: ServiceConfig): Promise<Service> {
  return new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add(config);
}

type ServiceHeaders = NonNullable<NonNullable<Parameters<ServiceMsg['respond']>[1]>['headers']>;

/** Replies with a body and headers (a nexlet's `workload_id`, `agentId`…). */
export function respondWithHeaders(msg: ServiceMsg, data: string | Uint8Array, headers: MsgHdrs): boolean {
  return msg.respond(data, { headers: headers as unknown as ServiceHeaders });
}
