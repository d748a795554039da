// The one DynamoDB table's layout, shared by the store adapter, the local twin and the CDK
// stack so all three agree. One billing-status item per customer answers a status read with
// one GetItem; facts are grouped by object, so applying an event reads only its own object's
// facts. See README "Design".
//
//   pk                 sk                        what
//   CUS#<cus>          F#<objectId>#<eventId>    a fact: dedup record + history entry + rule input
//   OVR#<cus>          <ovr id>                  an operator override set or clear (history)
//   STATUS#<cus>       STATUS                    the billing-status item: what decides the status
//   REF#<object id>    REF                       the object's owner, and events waiting for it
//   PARK#<event id>    PARK                      a parked event: its fact and keys, no raw body
//
// GSI `parked` (KEYS_ONLY, sparse): PARK items, by parkedAt.
// GSI `rulesVersion` (KEYS_ONLY, sparse): STATUS items, by the rules version they were
// computed with, so items behind the running rules can be counted.
// The table's stream carries NEW_AND_OLD_IMAGES; the notifier only receives STATUS items
// whose write changed canAllocate (they carry `flip`).

export const KEY = { pk: 'pk', sk: 'sk' } as const;

export const PARKED_INDEX = 'parked';
export const PARKED_LIST = 'PARKED';

/** Partition-key prefix of each item family; IAM conditions (dynamodb:LeadingKeys) use them. */
export const PK_PREFIX = {
  facts: 'CUS#',
  overrides: 'OVR#',
  status: 'STATUS#',
  owner: 'REF#',
  parked: 'PARK#',
} as const;

export const STATUS_SK = 'STATUS';
export const OWNER_SK = 'REF';
export const PARK_SK = 'PARK';
export const RULES_VERSION_INDEX = 'rulesVersion';

/** Sort-key prefix of a fact; an object's facts share `F#<objectId>#`. */
export const FACT_SK_PREFIX = 'F#';

export const factKey = (customerId: string, objectId: string, eventId: string) => ({
  pk: `${PK_PREFIX.facts}${customerId}`,
  sk: `${FACT_SK_PREFIX}${objectId}#${eventId}`,
});
export const objectFactsPrefix = (objectId: string) => `${FACT_SK_PREFIX}${objectId}#`;
export const factsPk = (customerId: string) => `${PK_PREFIX.facts}${customerId}`;
export const statusKey = (customerId: string) => ({
  pk: `${PK_PREFIX.status}${customerId}`,
  sk: STATUS_SK,
});
export const overridesPk = (customerId: string) => `${PK_PREFIX.overrides}${customerId}`;
export const ownerKey = (objectId: string) => ({
  pk: `${PK_PREFIX.owner}${objectId}`,
  sk: OWNER_SK,
});
export const parkKey = (eventId: string) => ({ pk: `${PK_PREFIX.parked}${eventId}`, sk: PARK_SK });

/** The customer id of a status item's partition key, or null for another item family. */
export function customerOfStatusPk(pk: string): string | null {
  return pk.startsWith(PK_PREFIX.status) ? pk.slice(PK_PREFIX.status.length) : null;
}

/** Attribute definitions, indexes and stream, in the shape both CreateTable and CDK use. */
export const TABLE_SCHEMA = {
  attributes: [
    { name: 'pk', type: 'S' },
    { name: 'sk', type: 'S' },
    { name: 'parkedList', type: 'S' },
    { name: 'parkedAt', type: 'N' },
    { name: 'rulesVersion', type: 'N' },
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
      partitionKey: 'rulesVersion',
      sortKey: 'pk',
      projection: 'KEYS_ONLY',
    },
  ],
  /** The notifier compares each status item's old and new image. */
  streamView: 'NEW_AND_OLD_IMAGES',
} as const;

/** Attribute names of the status item. */
export const STATUS_ATTR = {
  /** Item format version (what a reader must understand). */
  format: 'fmt',
  /** Rules version the item was computed with; key of the rulesVersion index. */
  rulesVersion: 'rulesVersion',
  /** Optimistic-concurrency version, +1 per write. */
  version: 'ver',
  /** canAllocate as of this write (blockers do not depend on the reading time). */
  canAllocate: 'ca',
  /** Present (the new `ver`) only on the write that changed canAllocate: the notifier's filter. */
  flip: 'flip',
  /** The customer's state (entries, methods, customer-level values), compact JSON. */
  state: 'st',
  /** The operator override in force, JSON, or absent. */
  override: 'ov',
  /** The last commit `{id, at}` (lastEventId / updatedAt), JSON. */
  lastCommit: 'lc',
} as const;

/** Attributes the status API may write on a status item (an override change), keys aside. */
export const STATUS_API_WRITABLE_ATTRIBUTES: readonly string[] = [
  STATUS_ATTR.format,
  STATUS_ATTR.rulesVersion,
  STATUS_ATTR.version,
  STATUS_ATTR.canAllocate,
  STATUS_ATTR.flip,
  STATUS_ATTR.override,
  STATUS_ATTR.lastCommit,
];

/** Lambda event-filter pattern of the notifier's stream source (and of the local poller). */
export const NOTIFIER_FILTER_PATTERN = {
  dynamodb: {
    Keys: { sk: { S: [STATUS_SK] } },
    NewImage: { [STATUS_ATTR.flip]: { N: [{ exists: true }] } },
  },
} as const;
