// The notifier: fed by the table's stream, so every announcement is derived from a
// committed change (a processor crash after its commit cannot lose one). It announces when
// the derived canAllocate differs from the last announced one, then moves the cursor; a
// crash between the two re-announces (at least once), never skips.

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { factFromItem, overrideFromItem, type FactStore } from '../adapters/fact-store';
import { deriveBillingStatus } from '../core/billing-status';
import type { AppliedFact, OverrideRecord } from '../core/facts';
import type { Logger } from '../observability';

export interface Announcement {
  customerId: string;
  canAllocate: boolean;
  /** Blocker reasons of the new status, e.g. ["payment_failed"]. */
  blockers: string[];
  /** The event (`evt_...`) or override (`ovr_...`) whose commit made the change. */
  eventId: string | null;
  at: string;
}

export interface NotifierDeps {
  store: FactStore;
  expiryWarningDays: number;
  clock: () => Date;
  announce: (announcement: Announcement) => Promise<void>;
  logger: Logger;
}

type Image = Record<string, AttributeValue>;

function relevant(record: DynamoDBRecord): { customerId: string; image: Image } | null {
  if (record.eventName !== 'INSERT') return null;
  const image = record.dynamodb?.NewImage as Image | undefined;
  const pk = image?.pk?.S;
  const sk = image?.sk?.S;
  if (!image || !pk?.startsWith('CUS#') || !(sk?.startsWith('EVT#') || sk?.startsWith('OVR#'))) {
    return null;
  }
  return { customerId: pk.slice(4), image };
}

/**
 * The newest commit the derivation saw (a fact's event id or an override's id): the stream
 * can lag the table, so the change may come from a commit younger than the record in hand.
 */
function newestCommit(facts: Iterable<AppliedFact>, overrides: readonly OverrideRecord[]) {
  let newest: { id: string; at: string } | null = null;
  const commits = [
    ...[...facts].map((f) => ({ id: f.eventId, at: f.appliedAt })),
    ...overrides.map((o) => ({ id: o.id, at: o.setAt })),
  ];
  for (const c of commits) {
    if (!newest || c.at > newest.at || (c.at === newest.at && c.id > newest.id)) newest = c;
  }
  return newest?.id ?? null;
}

export function makeNotifierHandler(deps: NotifierDeps) {
  const { store, logger } = deps;

  const reconsider = async (customerId: string, images: Image[]) => {
    const record = await store.loadCustomer(customerId);
    // The stream may run ahead of a read; union the images it carries.
    const facts = new Map<string, AppliedFact>(record.facts.map((f) => [f.eventId, f]));
    const overrides = new Map<string, OverrideRecord>(record.overrides.map((o) => [o.id, o]));
    for (const image of images) {
      if (image.sk?.S?.startsWith('EVT#')) {
        const fact = factFromItem(image);
        facts.set(fact.eventId, fact);
      } else {
        const override = overrideFromItem(image);
        overrides.set(override.id, override);
      }
    }
    const now = deps.clock();
    const status = deriveBillingStatus({
      customerId,
      facts: [...facts.values()],
      overrides: [...overrides.values()],
      now: Math.floor(now.getTime() / 1000),
      expiryWarningDays: deps.expiryWarningDays,
    });
    if (!status) return;
    // Before any announcement a customer counts as allowed: only a change is news.
    const previous = record.announced ?? true;
    if (status.canAllocate === previous) return;
    const announcement: Announcement = {
      customerId,
      canAllocate: status.canAllocate,
      blockers: status.blockers.map((b) => b.reason),
      eventId: newestCommit(facts.values(), [...overrides.values()]),
      at: now.toISOString(),
    };
    await deps.announce(announcement);
    await store.moveAnnouncement(customerId, record.announced, status.canAllocate, announcement.at);
    logger.info('canAllocate announced', { customerId, canAllocate: status.canAllocate });
  };

  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const byCustomer = new Map<string, { images: Image[]; first: DynamoDBRecord }>();
    for (const record of event.Records) {
      const hit = relevant(record);
      if (!hit) continue;
      const entry = byCustomer.get(hit.customerId);
      if (entry) entry.images.push(hit.image);
      else byCustomer.set(hit.customerId, { images: [hit.image], first: record });
    }
    const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const [customerId, { images, first }] of byCustomer) {
      try {
        await reconsider(customerId, images);
      } catch (err) {
        logger.error('announcement failed; will retry', {
          customerId,
          error: (err as Error).message,
        });
        const id = first.dynamodb?.SequenceNumber;
        if (id) failures.push({ itemIdentifier: id });
      }
    }
    return { batchItemFailures: failures };
  };
}
