/** Recording the traffic on a subject (requests and their replies) as trigger cases. */
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';

export interface RecordedMessage {
  subject: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
  /** Where the sender wanted the reply; absent for a plain publish. */
  replySubject?: string;
  reply?: Uint8Array;
}

export interface RecordOptions {
  /** Stop after this many messages. */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /**
   * Replies are captured by a subscription to `<prefix>.>` made before recording starts, so a reply
   * is seen however fast the function answers. Only requests whose reply subject is under this
   * prefix get their reply (default "_INBOX", what NATS clients use unless told otherwise).
   */
  replyPrefix?: string;
  /** After the last message, how long to wait for replies still due (default 2 s). */
  replyWaitMs?: number;
  /** Ends the recording early (Ctrl-C); what was recorded is kept. */
  until?: Promise<unknown>;
  /** Called once the server has the subscriptions: messages published from then on are recorded. */
  onReady?: () => void;
  onMessage?: (message: RecordedMessage) => void;
}

export interface Recording {
  messages: RecordedMessage[];
  /** Why replies could not be captured (e.g. no permission to subscribe to the inbox prefix); absent when they could. */
  replyCaptureProblem?: string;
}

/** A message's headers as a case writes them (the first value of each). */
function headerRecord(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  const keys = headers?.keys() ?? [];
  return keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, headers!.get(k)])) : undefined;
}

/** How many replies to keep while recording, so a busy inbox prefix cannot grow memory without end. */
const MAX_KEPT_REPLIES = 10000;

/**
 * Records the messages on `subject` (wildcards allowed) until `count` messages or `seconds` pass,
 * whichever comes first, or `until` resolves. Replies to recorded requests are captured through a
 * subscription to the inbox prefix made beforehand (see RecordOptions.replyPrefix); a reply sent
 * to another prefix is not captured.
 */
export async function recordSubject(nc: NatsConnection, subject: string, options: RecordOptions): Promise<Recording> {
  if (!options.count && !options.seconds) {
    throw new Error('say when recording ends: a message count, a number of seconds, or both');
  }
  const messages: RecordedMessage[] = [];
  const replies = new Map<string, Uint8Array>();
  let replyCaptureProblem: string | undefined;
  const prefix = options.replyPrefix ?? '_INBOX';
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const replySub = nc.subscribe(`${prefix}.>`, {
    callback: (err, msg) => {
      if (err) {
        replyCaptureProblem = `cannot subscribe to ${prefix}.> to see replies: ${err.message}`;
      } else if (!replies.has(msg.subject) && replies.size < MAX_KEPT_REPLIES) {
        replies.set(msg.subject, msg.data);
      }
    },
  });
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        finish();
        return;
      }
      const message: RecordedMessage = { subject: msg.subject, payload: msg.data, headers: headerRecord(msg.headers), ...(msg.reply ? { replySubject: msg.reply } : {}) };
      messages.push(message);
      options.onMessage?.(message);
      if (options.count && messages.length >= options.count) {
        finish();
      }
    },
  });
  await nc.flush();
  options.onReady?.();
  const timer = options.seconds ? setTimeout(finish, options.seconds * 1000) : undefined;
  void options.until?.then(finish, finish);
  await finished;
  clearTimeout(timer);
  sub.unsubscribe();
  await waitForReplies(messages, replies, options.replyWaitMs ?? 2000);
  replySub.unsubscribe();
  for (const message of messages) {
    const reply = message.replySubject && replies.get(message.replySubject);
    if (reply) {
      message.reply = reply;
    }
  }
  return { messages, ...(replyCaptureProblem ? { replyCaptureProblem } : {}) };
}

/** Waits until every recorded request has its reply, or `ms` pass. */
async function waitForReplies(messages: RecordedMessage[], replies: Map<string, Uint8Array>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && messages.some((m) => m.replySubject && !replies.has(m.replySubject))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
