// Bytes SQS refuses (docs/behaviour.md#bytes-sqs-refuses). SQS takes only #x9, #xA, #xD,
// #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF in a message body; the SQS emulator is more
// lenient, so the rule is checked here code point by code point against an independent
// statement of those ranges, and the whole way (verifier -> real queue -> processor ->
// DynamoDB Local) with an event whose customer name holds U+FFFE and U+FFFF.
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queueUrlPrefixOf } from '../../bin/local/provision';
import { toSqsRecord } from '../../bin/local/pipeline';
import { buildEvent } from '../../bin/events/stripe-events';
import {
  MESSAGE_ATTRIBUTES,
  eventTextOf,
  queuedBody,
  sqsAcceptsBody,
} from '../../lambdas/adapters/queue-layout';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { freshQueues, freshTable } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';
import { queueingVerifier, signedWebhook } from '../support/webhook-request';

/** The ranges SQS documents for a message body, as code points. */
const SQS_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x9, 0x9],
  [0xa, 0xa],
  [0xd, 0xd],
  [0x20, 0xd7ff],
  [0xe000, 0xfffd],
  [0x10000, 0x10ffff],
];
const sqsTakes = (codePoint: number) =>
  SQS_RANGES.some(([low, high]) => codePoint >= low && codePoint <= high);

/** Whether SQS takes a whole text: every code point in range, no lone surrogate half. */
function sqsTakesText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
      continue;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return false;
    if (!sqsTakes(unit)) return false;
  }
  return true;
}

/** Text a webhook can carry: well-formed UTF-16 (what UTF-8 bytes decode to). */
const wireText = fc
  .string({ unit: 'binary', maxLength: 40 })
  .filter((text) => Buffer.from(text, 'utf8').toString('utf8') === text);

describe('the SQS character rule', () => {
  it('takes exactly the code points SQS documents, every one of them', () => {
    const refused: number[] = [];
    const wrong: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // halves: below
      const accepts = sqsAcceptsBody(`a${String.fromCodePoint(cp)}b`);
      if (accepts !== sqsTakes(cp)) wrong.push(cp);
      if (!accepts) refused.push(cp);
    }
    expect(wrong).toEqual([]);
    // The refused ones are the controls other than tab, LF and CR, and U+FFFE/U+FFFF.
    expect(refused.length).toBe(32 - 3 + 2);
  });

  it('refuses a lone surrogate half and takes a pair', () => {
    expect(sqsAcceptsBody('x\uD83D')).toBe(false);
    expect(sqsAcceptsBody('\uDE00x')).toBe(false);
    expect(sqsAcceptsBody('\uDE00\uD83D')).toBe(false);
    expect(sqsAcceptsBody('\uD83D\uDE00')).toBe(true);
  });

  it('agrees with the ranges on any text, and queues a body SQS takes that gives back the exact bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(sqsAcceptsBody(text)).toBe(sqsTakesText(text));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(wireText, (text) => {
        const { body, encoding } = queuedBody(text);
        expect(sqsTakesText(body)).toBe(true);
        expect(encoding === null).toBe(sqsTakesText(text));
        const back = eventTextOf(body, encoding);
        expect(Buffer.from(back, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('an event whose body holds characters SQS refuses', () => {
  it('is queued encoded and applied from its exact bytes', async () => {
    const type = 'customer.created';
    const { sqs, queues, prefix } = await freshQueues([type]);
    const { store } = await freshTable();
    const secret = 'whsec_sqs_body';
    const verifier = queueingVerifier(sqs, queueUrlPrefixOf(queues[0]!, prefix), {
      secrets: async () => [secret],
    });
    const payload = JSON.stringify(
      buildEvent(type, {
        id: 'evt_sqs_refused',
        object: { id: 'cus_SqsRefused', name: 'Ann\uFFFE \uFFFFLee', email: null },
      }),
    );
    expect(sqsTakesText(payload)).toBe(false);

    const res = await verifier(signedWebhook(payload, secret));
    expect(res.statusCode).toBe(200);

    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues[0]!.queueUrl,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 2,
      }),
    );
    const message = got.Messages?.[0];
    expect(message).toBeDefined();
    expect(sqsTakesText(message!.Body!)).toBe(true);
    expect(message!.MessageAttributes?.[MESSAGE_ATTRIBUTES.encoding]?.StringValue).toBe('base64');

    const processor = makeProcessorHandler({
      eventType: type,
      store,
      stripe: null,
      clock: () => new Date(),
      logger: testLogger,
      metrics: testMetrics,
    });
    const answer = await processor({ Records: [toSqsRecord(message!, queues[0]!)] });
    expect(answer).toEqual({ batchItemFailures: [] });
    const { facts } = await store.allFacts('cus_SqsRefused');
    expect(facts.map((fact) => fact.eventId)).toEqual(['evt_sqs_refused']);
  });
});
