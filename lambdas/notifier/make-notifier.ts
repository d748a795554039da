// The notifier: fed by the table's stream, so every announcement is derived from a
// committed change (a processor crash after its commit cannot lose one). Each status-item
// write that changed canAllocate carries `flip` and its cause (an event or override id, or a
// cause of time: grace_ended, override_expired, card_expired, policy_changed); the
// event-source filter lets only those through, and the old and new images say what changed:
// no table read at all. A failed announcement is retried with the rest of the batch; one the
// stream's retries cannot deliver is kept for `npm run redrive -- --announcements`.

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { decodeStatusItem } from '../adapters/status-item';
import { STATUS_ATTR, STATUS_SK, customerOfStatusPk } from '../adapters/table-layout';
import { statusFromRecord, type StatusSettings } from '../core/billing-status';
import type { Logger } from '../observability';

export interface Announcement {
  customerId: string;
  canAllocate: boolean;
  /** Blocker reasons of the new status, e.g. ["payment_failed"]. */
  blockers: string[];
  /** The event (`evt_...`) or override (`ovr_...`) whose commit made the change, if one did. */
  eventId: string | null;
  /** What made the change: that id, or `grace_ended`, `override_expired`, `card_expired`, `policy_changed`. */
  cause: string;
  at: string;
}

/** Causes of a change that no event or override made. */
export const TIME_CAUSES: ReadonlySet<string> = new Set([
  'grace_ended',
  'override_expired',
  'card_expired',
  'policy_changed',
]);

export interface NotifierDeps {
  settings: StatusSettings;
  clock: () => Date;
  announce: (announcement: Announcement) => Promise<void>;
  logger: Logger;
}

type Image = Record<string, AttributeValue>;

/**
 * The change a stream record announces, or null: the same test as the event-source filter
 * (NOTIFIER_FILTER_PATTERN: a status item whose new image carries `flip`), applied again here
 * for the local twin's poller, which hands over every record.
 */
export function announcedChange(
  record: DynamoDBRecord,
): { customerId: string; before: Image | undefined; after: Image } | null {
  const keys = record.dynamodb?.Keys as Image | undefined;
  const after = record.dynamodb?.NewImage as Image | undefined;
  if (keys?.sk?.S !== STATUS_SK || !after?.[STATUS_ATTR.flip]) return null;
  const customerId = customerOfStatusPk(keys.pk?.S ?? '');
  if (!customerId) return null;
  return { customerId, before: record.dynamodb?.OldImage as Image | undefined, after };
}

export function makeNotifierHandler(deps: NotifierDeps) {
  const { logger } = deps;

  const announceChange = async (change: NonNullable<ReturnType<typeof announcedChange>>) => {
    const after = decodeStatusItem(change.after);
    // Before any status a customer counts as allowed: only a change is news.
    const before = change.before ? decodeStatusItem(change.before).derived.canAllocate : true;
    const canAllocate = after.derived.canAllocate;
    if (canAllocate === before) return;
    const now = deps.clock();
    const status = statusFromRecord(
      change.customerId,
      after.record,
      Math.floor(now.getTime() / 1000),
      deps.settings,
    );
    const cause = change.after[STATUS_ATTR.cause]?.S || (after.record.lastCommit?.id ?? '');
    await deps.announce({
      customerId: change.customerId,
      canAllocate,
      blockers: status.blockers.map((b) => b.reason),
      eventId: TIME_CAUSES.has(cause) || cause === '' ? null : cause,
      cause,
      at: now.toISOString(),
    });
    logger.info('canAllocate announced', { customerId: change.customerId, canAllocate, cause });
  };

  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    for (const record of event.Records) {
      const change = announcedChange(record);
      if (!change) continue;
      try {
        await announceChange(change);
      } catch (err) {
        logger.error('announcement failed; will retry', {
          customerId: change.customerId,
          error: (err as Error).message,
        });
        // The batch resumes from this record: later ones are announced on the retry.
        const id = record.dynamodb?.SequenceNumber;
        return { batchItemFailures: id ? [{ itemIdentifier: id }] : [] };
      }
    }
    return { batchItemFailures: [] };
  };
}
