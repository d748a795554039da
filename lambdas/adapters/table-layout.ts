// The one DynamoDB table's layout, shared by the store adapter, the local twin, the client and
// the CDK stack so all agree. One billing-status item per customer answers a status read with
// one GetItem; facts are grouped by object, so applying an event reads only its own object's
// facts. See README "Design".
//
//   pk                 sk                          what
//   CUS#<cus>          F#<object>#<event>          a fact: dedup record + history entry + rule input
//   CUS#<cus>          F#<object>#!L#<invoice>     an invoice link of a payment (!L: checked, none)
//   OVR#<cus>          <ovr id>                    an operator override set or clear (history)
//   STATUS#<cus>       STATUS                      the billing-status item: what decides the status
//   OVF#<cus>          X#<entry kind>#<object>     an entry past the status item's bound
//   OVF#<cus>          C#<name>#<time>#<object>    such an entry's conditions, in time order
//   REF#<object>       REF                         the object's owner (or an acct_'s customer), and
//                                                  the events waiting for it
//   PARK#<event>       PARK                        a parked event: its fact and keys, no raw body
//   SETTINGS           SETTINGS                    the deployment's access policy and warning window
//
// Every id in a key is escaped (keyPart): letters, digits, `_` and `-` stand for themselves
// and anything else, `#` above all, is percent-encoded, so no id can reach into another key's
// part whatever it holds (docs/behaviour.md#hostile-and-busy-customers). Stripe's ids never
// need escaping, so their keys read as before.
//
// GSIs, all KEYS_ONLY and sparse: `parked` (PARK items by parkedAt), `rulesVersion` (STATUS
// items by the rules version they were computed with), `due` (STATUS items by the next moment
// their answer changes with no event), `trouble` (blocked or warned customers, by customer),
// `grace` (customers in grace, nearest deadline first). The stream carries NEW_AND_OLD_IMAGES;
// the notifier only receives STATUS items whose write changed canAllocate (they carry `flip`).

export const KEY = { pk: 'pk', sk: 'sk' } as const;

export const PARKED_INDEX = 'parked';
export const PARKED_LIST = 'PARKED';
export const RULES_VERSION_INDEX = 'rulesVersion';
export const DUE_INDEX = 'due';
export const TROUBLE_INDEX = 'trouble';
export const GRACE_INDEX = 'grace';

/** Partition-key prefix of each item family; IAM conditions (dynamodb:LeadingKeys) use them. */
export const PK_PREFIX = {
  facts: 'CUS#',
  overrides: 'OVR#',
  status: 'STATUS#',
  owner: 'REF#',
  parked: 'PARK#',
  /** Entries past a status item's bound, and their ordered conditions. */
  overflow: 'OVF#',
  /** The one settings item. */
  settings: 'SETTINGS',
} as const;

export const STATUS_SK = 'STATUS';
export const OWNER_SK = 'REF';
export const PARK_SK = 'PARK';
/** The settings item's partition and sort key (one per table). */
export const SETTINGS_KEY = { pk: PK_PREFIX.settings, sk: 'SETTINGS' } as const;

/** Sort-key prefix of a fact; an object's facts and links share `F#<object>#`. */
export const FACT_SK_PREFIX = 'F#';
/** Within an object's facts, the mark of a link (never the start of an escaped id). */
export const LINK_MARK = '!L';

/**
 * An id as a key part: injective, and free of `#` (and of `!`, which marks links). Ids made of
 * letters, digits, `_` and `-` are unchanged; every other UTF-16 code unit (lone surrogates
 * included) becomes `%` and four hex digits.
 */
export function keyPart(id: string): string {
  return id.replace(
    /[^A-Za-z0-9_-]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

/** The id a key part stands for (the inverse of keyPart). */
export function idOfKeyPart(part: string): string {
  return part.replace(/%([0-9A-F]{4})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

export const factsPk = (customerId: string) => `${PK_PREFIX.facts}${keyPart(customerId)}`;
export const objectFactsPrefix = (objectId: string) => `${FACT_SK_PREFIX}${keyPart(objectId)}#`;
export const factKey = (customerId: string, objectId: string, eventId: string) => ({
  pk: factsPk(customerId),
  sk: `${objectFactsPrefix(objectId)}${keyPart(eventId)}`,
});
/** A payment's invoice link (or, invoice null, the record that it belongs to none). */
export const linkKey = (customerId: string, payment: string, invoice: string | null) => ({
  pk: factsPk(customerId),
  sk: `${objectFactsPrefix(payment)}${LINK_MARK}${invoice === null ? '' : `#${keyPart(invoice)}`}`,
});
export const statusPk = (customerId: string) => `${PK_PREFIX.status}${keyPart(customerId)}`;
export const statusKey = (customerId: string) => ({ pk: statusPk(customerId), sk: STATUS_SK });
export const overridesPk = (customerId: string) => `${PK_PREFIX.overrides}${keyPart(customerId)}`;
export const ownerKey = (objectId: string) => ({
  pk: `${PK_PREFIX.owner}${keyPart(objectId)}`,
  sk: OWNER_SK,
});
export const parkKey = (eventId: string) => ({
  pk: `${PK_PREFIX.parked}${keyPart(eventId)}`,
  sk: PARK_SK,
});

/** Sort-key prefix of an entry kept outside the status item (past its bound). */
export const OVERFLOW_SK_PREFIX = 'X#';
/** Sort-key prefix of such an entry's condition, in `since` order per reason. */
export const CONTRIBUTION_SK_PREFIX = 'C#';
export const overflowPk = (customerId: string) => `${PK_PREFIX.overflow}${keyPart(customerId)}`;
export const overflowKey = (customerId: string, kind: string, objectId: string) => ({
  pk: overflowPk(customerId),
  sk: `${OVERFLOW_SK_PREFIX}${kind}#${keyPart(objectId)}`,
});
/** Unix seconds as a fixed-width key part, so that key order is time order. */
export const timePart = (seconds: number) =>
  String(Math.max(0, Math.floor(seconds))).padStart(12, '0');
export const contributionPrefix = (reason: string) => `${CONTRIBUTION_SK_PREFIX}${reason}#`;
export const contributionKey = (
  customerId: string,
  reason: string,
  since: number,
  objectId: string,
) => ({
  pk: overflowPk(customerId),
  sk: `${contributionPrefix(reason)}${timePart(since)}#${keyPart(objectId)}`,
});

/** The customer id of a status item's partition key, or null for another item family. */
export function customerOfStatusPk(pk: string): string | null {
  return pk.startsWith(PK_PREFIX.status) ? idOfKeyPart(pk.slice(PK_PREFIX.status.length)) : null;
}

/** The customer id of a fact's partition key. */
export function customerOfFactsPk(pk: string): string {
  return idOfKeyPart(pk.slice(PK_PREFIX.facts.length));
}

/** Attribute names of the status item. */
export const STATUS_ATTR = {
  /** Item format version (what a reader must understand). */
  format: 'fmt',
  /** Rules version the item was computed with; key of the rulesVersion index. */
  rulesVersion: 'rulesVersion',
  /** +1 per write: what a write of the derived attributes below is conditioned on. */
  version: 'ver',
  /** canAllocate as last derived (the notifier compares it between images). */
  canAllocate: 'ca',
  /** Present (the new `ver`) only on the write that changed `ca`: the notifier's filter. */
  flip: 'flip',
  /** What made `ca` change: an event or override id, or a cause of time or policy. */
  cause: 'cause',
  /** The settings (policy, warning window) the derived attributes were computed under. */
  settingsHash: 'sh',
  /** The last commit `[id, at]` (lastEventId / updatedAt), JSON; with its parts below. */
  lastCommit: 'lc',
  lastCommitAt: 'lcAt',
  lastCommitId: 'lcId',
  /** The last Stripe event `[id, at, livemode]`, JSON; with its parts below. */
  lastStripe: 'lst',
  lastStripeAt: 'lstAt',
  lastStripeId: 'lstId',
  /** `created` of the latest successful payment. */
  latestSuccess: 'ls',
  /** The customer.deleted event `[created, id]`, JSON; `dlKey` orders them. */
  deleted: 'dl',
  deletedKey: 'dlKey',
  /** The Accounts v2 alias `[acct, created, eventId]`, JSON; `acKey` orders them. */
  account: 'ac',
  accountKey: 'acKey',
  /** The operator override in force, JSON, or absent; `ovKey` orders overrides. */
  override: 'ov',
  overrideKey: 'ovKey',
  /** Prefix of an entry attribute: `e:<entry kind>:<object>`. */
  entryPrefix: 'e:',
  /** Prefix of the count of listed entries of one group: `n:<entry kind>`. */
  listedPrefix: 'n:',
  /** Prefix of the summary of one group's entries past the bound: `o:<entry kind>`. */
  overflowPrefix: 'o:',
  /** The due index: a constant partition and the next moment the answer changes by time. */
  duePartition: 'dueP',
  nextChangeAt: 'nca',
  /** The trouble index: `blocked` or `warned`. */
  trouble: 'tst',
  /** The grace index: a constant partition and the nearest `blocksAt` (or the far future). */
  gracePartition: 'tgr',
  graceDeadline: 'tgba',
  /** Set when an item write failed for its size: readers answer from the facts. */
  oversize: 'oversize',
} as const;

/** The constant partition values of the sparse indexes. */
export const DUE_PARTITION = 'DUE';
export const GRACE_PARTITION = 'GRACE';
/** Where a grace held only by Stripe's retries sorts: after every deadline. */
export const NO_DEADLINE = 99_999_999_999;

/** Attribute definitions, indexes and stream, in the shape both CreateTable and CDK use. */
export const TABLE_SCHEMA = {
  attributes: [
    { name: 'pk', type: 'S' },
    { name: 'sk', type: 'S' },
    { name: 'parkedList', type: 'S' },
    { name: 'parkedAt', type: 'N' },
    { name: STATUS_ATTR.rulesVersion, type: 'N' },
    { name: STATUS_ATTR.duePartition, type: 'S' },
    { name: STATUS_ATTR.nextChangeAt, type: 'N' },
    { name: STATUS_ATTR.trouble, type: 'S' },
    { name: STATUS_ATTR.gracePartition, type: 'S' },
    { name: STATUS_ATTR.graceDeadline, type: 'N' },
  ],
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    {
      name: PARKED_INDEX,
      partitionKey: 'parkedList',
      sortKey: 'parkedAt',
      projection: 'KEYS_ONLY',
    },
    {
      name: RULES_VERSION_INDEX,
      partitionKey: STATUS_ATTR.rulesVersion,
      sortKey: 'pk',
      projection: 'KEYS_ONLY',
    },
    {
      name: DUE_INDEX,
      partitionKey: STATUS_ATTR.duePartition,
      sortKey: STATUS_ATTR.nextChangeAt,
      projection: 'KEYS_ONLY',
    },
    {
      name: TROUBLE_INDEX,
      partitionKey: STATUS_ATTR.trouble,
      sortKey: 'pk',
      projection: 'KEYS_ONLY',
    },
    {
      name: GRACE_INDEX,
      partitionKey: STATUS_ATTR.gracePartition,
      sortKey: STATUS_ATTR.graceDeadline,
      projection: 'KEYS_ONLY',
    },
  ],
  /** The notifier compares each status item's old and new image. */
  streamView: 'NEW_AND_OLD_IMAGES',
} as const;

/** Attributes the status API may write on a status item (an override change), keys aside. */
export const STATUS_API_WRITABLE_ATTRIBUTES: readonly string[] = [
  STATUS_ATTR.format,
  STATUS_ATTR.rulesVersion,
  STATUS_ATTR.version,
  STATUS_ATTR.override,
  STATUS_ATTR.overrideKey,
  STATUS_ATTR.lastCommit,
  STATUS_ATTR.lastCommitAt,
  STATUS_ATTR.lastCommitId,
  STATUS_ATTR.flip,
  STATUS_ATTR.canAllocate,
  STATUS_ATTR.cause,
  STATUS_ATTR.settingsHash,
  STATUS_ATTR.duePartition,
  STATUS_ATTR.nextChangeAt,
  STATUS_ATTR.trouble,
  STATUS_ATTR.gracePartition,
  STATUS_ATTR.graceDeadline,
];

/** Lambda event-filter pattern of the notifier's stream source (and of the local poller). */
export const NOTIFIER_FILTER_PATTERN = {
  dynamodb: {
    Keys: { sk: { S: [STATUS_SK] } },
    NewImage: { [STATUS_ATTR.flip]: { N: [{ exists: true }] } },
  },
} as const;
