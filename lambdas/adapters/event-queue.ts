// Puts a verified event on its type's queue: the raw JSON as received (encoded when SQS would
// refuse a character of it), with the event id, type and livemode as message attributes. Any
// failure is QueueUnavailable (-> 503).

import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QueueUnavailableError } from '../core/errors';
import { eventMessageAttributes, queueUrl, queuedBody } from './queue-layout';

export interface QueuedEvent {
  id: string;
  type: string;
  livemode: boolean;
  /** The event JSON exactly as received (the text of the signed bytes). */
  body: string;
}

/** The verifier's queue port: `send` resolves only once SQS has accepted the message. */
export interface EventQueue {
  send(event: QueuedEvent): Promise<void>;
}

export function makeSqsEventQueue(
  sqs: Pick<SQSClient, 'send'>,
  queueUrlPrefix: string,
): EventQueue {
  return {
    async send(event) {
      // SQS refuses some characters a verified body may hold: such a body goes encoded.
      const { body, encoding } = queuedBody(event.body);
      const command = new SendMessageCommand({
        QueueUrl: queueUrl(queueUrlPrefix, event.type),
        MessageBody: body,
        MessageAttributes: eventMessageAttributes({ ...event, encoding }),
      });
      try {
        await sqs.send(command);
      } catch (err) {
        // The SDK error's name says enough (timeout, access denied, no such queue); its
        // message may quote the request.
        throw new QueueUnavailableError(`could not queue ${event.id}: ${(err as Error).name}`);
      }
    },
  };
}
