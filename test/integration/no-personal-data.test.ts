// No raw Stripe bodies at rest: after applying (and parking) an event of every handled type,
// each carrying the personal data Stripe puts in such objects, no stored item holds an
// e-mail, name, address, phone or card fingerprint. Only what a rule needs is kept
// (docs/behaviour.md#rules, on parked events).
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import type { StripeObject } from '../../lambdas/core/stripe-event';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { freshTable } from '../support/local-stack';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

// The fixtures' own values (payment_method.json, charge.json, card.json) and more of the same
// kind where Stripe puts them in customers, invoices, disputes and PaymentIntents.
const PERSONAL = {
  email: 'jenny@example.com',
  name: 'Jenny Rosen',
  phone: '+15555555555',
  line1: '1234 Fake Street',
  city: 'San Francisco',
  postal: '94102',
  fingerprint: 'AOB934RVNwzk6xtn',
  evidence: 'Customer signed for the parcel at the door',
};
const address = {
  line1: PERSONAL.line1,
  city: PERSONAL.city,
  postal_code: PERSONAL.postal,
  country: 'US',
  line2: null,
  state: 'CA',
};
const contact = { email: PERSONAL.email, name: PERSONAL.name, phone: PERSONAL.phone, address };

function withPersonalData(type: string): StripeObject {
  if (type.startsWith('customer.subscription.')) return { customer_email: PERSONAL.email };
  if (type.startsWith('customer.source.'))
    return { name: PERSONAL.name, address_line1: PERSONAL.line1 };
  if (type.startsWith('customer.'))
    return { ...contact, shipping: { name: PERSONAL.name, address } };
  if (type.startsWith('invoice.')) {
    return {
      customer_email: PERSONAL.email,
      customer_name: PERSONAL.name,
      customer_phone: PERSONAL.phone,
      customer_address: address,
    };
  }
  if (type.startsWith('charge.dispute.')) {
    return {
      evidence: {
        customer_email_address: PERSONAL.email,
        customer_name: PERSONAL.name,
        billing_address: PERSONAL.line1,
        uncategorized_text: PERSONAL.evidence,
      },
    };
  }
  if (type.startsWith('charge.'))
    return { billing_details: contact, receipt_email: PERSONAL.email };
  if (type.startsWith('payment_intent.')) {
    return {
      receipt_email: PERSONAL.email,
      shipping: { name: PERSONAL.name, address, phone: PERSONAL.phone },
    };
  }
  return { billing_details: contact };
}

let store: FactStore;
let ddb: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  ({ store, ddb, tableName } = await freshTable());
});

async function everyStoredString(): Promise<string> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  expect(items.length).toBeGreaterThan(HANDLED_TYPES.length);
  return JSON.stringify(items);
}

describe('personal data at rest', () => {
  it('keeps none of the personal data of applied and parked events', async () => {
    const customer = stripeId('cus');
    const deps = { store, stripe: null, clock: () => new Date() };
    for (const type of HANDLED_TYPES) {
      const event = buildEvent(type, {
        customer,
        object: { id: stripeId('obj'), ...withPersonalData(type) },
      });
      const body = JSON.stringify(event);
      expect(
        Object.values(PERSONAL).some((v) => body.includes(v)),
        type,
      ).toBe(true);
      await applyEvent(JSON.stringify(event), type, deps);
    }
    // Parked ones too: a dispute whose charge is unknown, a detach without its customer.
    const dispute = buildEvent('charge.dispute.created', {
      object: { charge: stripeId('ch'), ...withPersonalData('charge.dispute.created') },
    });
    const detach = buildEvent('payment_method.detached', {
      object: { id: stripeId('pm'), ...withPersonalData('payment_method.detached') },
      previousAttributes: {},
    });
    expect((await applyEvent(JSON.stringify(dispute), dispute.type, deps)).outcome).toBe('parked');
    expect((await applyEvent(JSON.stringify(detach), detach.type, deps)).outcome).toBe('parked');

    const stored = await everyStoredString();
    for (const [what, value] of Object.entries(PERSONAL)) {
      expect(stored.includes(value), `${what} stored`).toBe(false);
    }
  });
});
