/** Following subjects until the caller stops: the subscriptions behind log and event followers. */
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';

/** Subscriptions that follow logs or events until the caller stops them. */
export interface Watch {
  stop(): void;
}

/** Subscribes and waits until the server has the subscriptions, so nothing published after the call is missed. */
export async function subscribeAll(nc: NatsConnection, subjects: readonly string[], onMessage: (msg: Msg) => void): Promise<Watch> {
  const subs: Subscription[] = subjects.map((subject) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) {
          onMessage(msg);
        }
      },
    }),
  );
  await nc.flush();
  return { stop: () => subs.forEach((s) => s.unsubscribe()) };
}
