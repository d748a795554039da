// Rights per action: which DynamoDB action each function of the stack uses on which item
// family (partition-key prefix, lambdas/adapters/table-layout.ts) or index, read off the code
// that issues the commands (lambdas/adapters/fact-store.ts, status-writer.ts, overflow.ts and
// the handlers that call them). lib/store.ts grants exactly this table: one statement per set
// of actions with the same families, each limited by `dynamodb:LeadingKeys`; index actions on
// the index ARNs (every index is KEYS_ONLY). Plain data (no CDK import), so tests read it too.
//
// Where each right comes from:
//
//   commit an event (every processor, and the sweeper for a parked one)
//     PutItem    CUS#     the fact, and a payment's invoice link (both `attribute_not_exists`):
//                         facts are created, never updated or deleted (the deduplication)
//     GetItem    CUS#     a duplicate's stored fact, when the refused Put returned none
//     Query      CUS#     the object's facts and links, to fold its entry
//   write the status item (StatusWriter.write, settle, convert; the processors' markOversize)
//     GetItem    STATUS#  the item before the write
//     UpdateItem STATUS#  the guarded parts, derived attributes, closed slots, summary counts
//   entries past the item's bound (OverflowStore, from StatusWriter.write)
//     GetItem    OVF#     the entry item
//     UpdateItem OVF#     the entry, in one TransactWriteItems with the item's counts (IAM
//                         authorises a transaction per item, by its Update/Put/Delete)
//     BatchWriteItem OVF# the ordered condition items (put and delete), stale ones removed
//     Query      OVF#     the earliest condition of a name
//     BatchGetItem OVF#   the entries those conditions belong to
//   owners and parked events (FactStore.ownerOf, revealOwners, park, parkedEvent, unpark)
//     BatchGetItem REF#   the owners of the event's keys
//     UpdateItem REF#     set an owner, add or remove a waiting event
//     GetItem    REF#     the owner another writer set first
//     PutItem    PARK#    park an event whose owner is unknown (`attribute_not_exists`)
//     GetItem    PARK#    a waiting event, when its owner is revealed
//     DeleteItem PARK#    the parked event, once applied
//   the sweeper besides
//     Query index due, parked, rulesVersion; Scan index rulesVersion (every status item, after a
//     change of settings); BatchGetItem PARK# (the parked events listed); GetItem and PutItem
//     SETTINGS (the settings item)
//   the status API
//     GetItem STATUS#; BatchGetItem STATUS# (a listing's page) and REF#acct_ (an Accounts v2
//     id's customer); Query CUS#, OVR# (history, an oversize item's facts); Query index trouble,
//     grace (GET /customers); an override: PutItem OVR# and UpdateItem STATUS# in one
//     transaction, the update limited to the attributes an override changes
//   the client (StatusReaderPolicy): GetItem STATUS#, SETTINGS, REF#acct_ (client/src)
//   the notifier and the verifier: nothing in the table (the notifier reads the stream)

import type { ObjectKind } from '../lambdas/core/registry';
import {
  DUE_INDEX,
  GRACE_INDEX,
  PARKED_INDEX,
  PK_PREFIX,
  RULES_VERSION_INDEX,
  TROUBLE_INDEX,
} from '../lambdas/adapters/table-layout';

/** Item families as `dynamodb:LeadingKeys` patterns. */
export const FAMILIES = {
  facts: `${PK_PREFIX.facts}*`,
  overrides: `${PK_PREFIX.overrides}*`,
  status: `${PK_PREFIX.status}*`,
  overflow: `${PK_PREFIX.overflow}*`,
  owners: `${PK_PREFIX.owner}*`,
  /** The owner items of Accounts v2 ids: an `acct_` id's customer. */
  aliases: `${PK_PREFIX.owner}acct_*`,
  parked: `${PK_PREFIX.parked}*`,
  /** The one settings item (its partition key exactly). */
  settings: PK_PREFIX.settings,
} as const;

export type Family = keyof typeof FAMILIES;

export type ItemAction =
  'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchGetItem' | 'BatchWriteItem';

export type IndexAction = 'Query' | 'Scan';

export type IndexName =
  | typeof PARKED_INDEX
  | typeof RULES_VERSION_INDEX
  | typeof DUE_INDEX
  | typeof TROUBLE_INDEX
  | typeof GRACE_INDEX;

export interface Rights {
  /** Actions on the table's items, each on these families only. */
  readonly items: { readonly [A in ItemAction]?: readonly Family[] };
  /** Actions on indexes. */
  readonly indexes?: { readonly [A in IndexAction]?: readonly IndexName[] };
  /**
   * UpdateItem names only the attributes an override may change, with narrow return values
   * (`dynamodb:Attributes`, `dynamodb:ReturnValues`; lib/store.ts).
   */
  readonly overrideAttributesOnly?: boolean;
}

/**
 * Families only ever created and read: facts (the deduplication records and the history).
 * No one may UpdateItem, DeleteItem or BatchWriteItem them (a batch write has no condition:
 * it could overwrite or delete one).
 */
export const CREATE_ONLY: readonly Family[] = ['facts'];
/** The actions allowed on a CREATE_ONLY family. */
const CREATE_ONLY_ACTIONS: readonly ItemAction[] = ['GetItem', 'PutItem', 'Query', 'BatchGetItem'];

/**
 * Whether events of a rule kind can wait for their owner (be parked): every kind but
 * `customer`, whose events name the customer by their own id; the others may name an
 * Accounts v2 id, a charge or a payment instead (lambdas/core/rules).
 */
export const KIND_PARKS: Readonly<Record<ObjectKind, boolean>> = {
  payment_intent: true,
  charge: true,
  invoice: true,
  invoice_payment: true,
  dispute: true,
  payment_method: true,
  source: true,
  subscription: true,
  customer: false,
};

/**
 * A processor of a rule kind: commit the event, write the status item and its overflow, and
 * reveal owners (every kind may: an object naming both a customer and its Accounts v2 id),
 * which applies and unparks the events waiting for them, of any kind.
 */
export function processorRights(kind: ObjectKind): Rights {
  return {
    items: {
      GetItem: ['facts', 'status', 'overflow', 'owners', 'parked'],
      PutItem: KIND_PARKS[kind] ? ['facts', 'parked'] : ['facts'],
      UpdateItem: ['status', 'overflow', 'owners'],
      DeleteItem: ['parked'],
      Query: ['facts', 'overflow'],
      BatchGetItem: ['overflow', 'owners'],
      BatchWriteItem: ['overflow'],
    },
  };
}

/**
 * The sweeper: settle items due by time or under new settings, write the settings item,
 * retry parked events (applying them as a processor does, never parking), count items behind
 * the rules.
 */
export const SWEEPER_RIGHTS: Rights = {
  items: {
    GetItem: ['facts', 'status', 'overflow', 'owners', 'settings'],
    PutItem: ['facts', 'settings'],
    UpdateItem: ['status', 'overflow', 'owners'],
    DeleteItem: ['parked'],
    Query: ['facts', 'overflow'],
    BatchGetItem: ['overflow', 'owners', 'parked'],
    BatchWriteItem: ['overflow'],
  },
  indexes: {
    Query: [DUE_INDEX, PARKED_INDEX, RULES_VERSION_INDEX],
    Scan: [RULES_VERSION_INDEX],
  },
};

/** The status API: reads, history, the listing of customers in a state, and overrides. */
export const STATUS_API_RIGHTS: Rights = {
  items: {
    GetItem: ['status'],
    PutItem: ['overrides'],
    UpdateItem: ['status'],
    Query: ['facts', 'overrides'],
    BatchGetItem: ['status', 'aliases'],
  },
  indexes: { Query: [TROUBLE_INDEX, GRACE_INDEX] },
  overrideAttributesOnly: true,
};

/** The provisioning client (StatusReaderPolicy, grantStatusItemRead): what it GetItems. */
export const CLIENT_RIGHTS: Rights = {
  items: { GetItem: ['status', 'settings', 'aliases'] },
};

/**
 * `npm run rebuild`, under the operator's own credentials (no role of the stack): what it
 * needs, for an operator policy of its own.
 */
export const REBUILD_RIGHTS: Rights = {
  items: {
    GetItem: ['status', 'settings'],
    PutItem: ['status'],
    UpdateItem: ['status'],
    Query: ['facts', 'overrides', 'overflow'],
    BatchGetItem: ['overflow'],
    BatchWriteItem: ['overflow'],
  },
  indexes: { Scan: [RULES_VERSION_INDEX] },
};

/** One statement's worth: actions (`dynamodb:` names) with the same families or indexes. */
export interface GrantGroup {
  readonly actions: readonly string[];
  /** LeadingKeys patterns (on the table), or index names. */
  readonly on: { readonly families: readonly string[] } | { readonly indexes: readonly string[] };
  readonly overrideAttributesOnly?: boolean;
}

/**
 * The statements a Rights row becomes: actions grouped by the same families (or indexes), in
 * a stable order; an attribute-limited UpdateItem stands alone.
 */
export function grantGroups(rights: Rights): GrantGroup[] {
  const groups = new Map<string, { actions: string[]; on: GrantGroup['on']; limited: boolean }>();
  const add = (action: string, on: GrantGroup['on'], limited: boolean) => {
    const key = JSON.stringify([on, limited]);
    const group = groups.get(key) ?? { actions: [], on, limited };
    group.actions.push(`dynamodb:${action}`);
    groups.set(key, group);
  };
  for (const [action, families] of Object.entries(rights.items) as [ItemAction, Family[]][]) {
    if (families.length === 0) continue;
    const changed = families.filter((f) => CREATE_ONLY.includes(f));
    if (changed.length > 0 && !CREATE_ONLY_ACTIONS.includes(action)) {
      throw new Error(`dynamodb:${action} on ${changed.join(', ')}: those items are only created`);
    }
    const limited = action === 'UpdateItem' && rights.overrideAttributesOnly === true;
    add(action, { families: families.map((f) => FAMILIES[f]).sort() }, limited);
  }
  for (const [action, indexes] of Object.entries(rights.indexes ?? {}) as [
    IndexAction,
    IndexName[],
  ][]) {
    add(action, { indexes: [...indexes].sort() }, false);
  }
  return [...groups.values()].map((g) => ({
    actions: g.actions.sort(),
    on: g.on,
    ...(g.limited ? { overrideAttributesOnly: true } : {}),
  }));
}
