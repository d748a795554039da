// The settings item: the deployment's access policy and warning window, written by the
// stack (at deployment, by the sweeper) and locally by npm start, read by every reader that
// derives a status outside the functions (the client, the operator commands).

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DEFAULT_STATUS_SETTINGS, type StatusSettings } from '../core/billing-status';
import { parsePolicy } from '../core/policy';
import { SETTINGS_KEY } from './table-layout';

export { SETTINGS_KEY };

/** The deployment's settings as the settings item stores them. */
export interface StoredSettings {
  /** The policy document, only what differs from the defaults. */
  policy: Record<string, unknown>;
  expiryWarningDays: number;
  hash: string;
  /** Every status item has been settled under these settings (after a change). */
  settled?: boolean;
}

type Item = Record<string, AttributeValue>;

/** The item's attributes beside its key. */
export function encodeSettingsItem(settings: StoredSettings): Item {
  return { settings: { S: JSON.stringify(settings) }, hash: { S: settings.hash } };
}

/** What a settings item says, or null for an item without settings. */
export function decodeSettingsItem(item: Item): StoredSettings | null {
  const text = item.settings?.S;
  return text ? (JSON.parse(text) as StoredSettings | null) : null;
}

/**
 * The settings a reader evaluates statuses with, from the settings item (null: a table
 * written before it had one, whose answers are the defaults'). Throws on a policy the
 * settings item cannot hold (a PolicyError naming the entry). Readers need no hash, so this
 * module stays free of node:crypto (the client package imports it).
 */
export function statusSettingsOf(stored: StoredSettings | null): StatusSettings {
  if (!stored) return DEFAULT_STATUS_SETTINGS;
  return { policy: parsePolicy(stored.policy), expiryWarningDays: stored.expiryWarningDays };
}
