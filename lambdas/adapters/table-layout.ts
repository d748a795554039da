// The one DynamoDB table's layout, shared by the store adapter, the local twin and the CDK
// stack so all three agree. See README "Design" for why one small item per applied event.
//
//   pk              sk              what
//   CUS#<cus>       EVT#<event id>  a Fact: dedup record + history entry + rule input (permanent)
//   CUS#<cus>       OVR#<ovr id>    an operator override set or clear (permanent)
//   CUS#<cus>       ANN             the notifier's last announced canAllocate
//   PARK#<obj id>   EVT#<event id>  an event waiting for the owner of <obj id> (raw event body)
//
// GSI `byRef` (sparse): facts that reveal an object's owner carry `ref` = that object id.
// GSI `parked` (sparse): parked items carry `parkedList` = "PARKED" and `parkedAt`.

export const KEY = { pk: 'pk', sk: 'sk' } as const;

export const BY_REF_INDEX = 'byRef';
export const PARKED_INDEX = 'parked';
export const PARKED_LIST = 'PARKED';

export const customerPk = (customerId: string) => `CUS#${customerId}`;
export const eventSk = (eventId: string) => `EVT#${eventId}`;
export const overrideSk = (overrideId: string) => `OVR#${overrideId}`;
export const ANNOUNCEMENT_SK = 'ANN';
export const parkPk = (objectId: string) => `PARK#${objectId}`;

/** Attribute definitions and indexes, in the shape both CreateTable and CDK can use. */
export const TABLE_SCHEMA = {
  attributes: [
    { name: 'pk', type: 'S' },
    { name: 'sk', type: 'S' },
    { name: 'ref', type: 'S' },
    { name: 'parkedList', type: 'S' },
    { name: 'parkedAt', type: 'N' },
  ],
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    { name: BY_REF_INDEX, partitionKey: 'ref', sortKey: 'pk', projection: 'KEYS_ONLY' },
    { name: PARKED_INDEX, partitionKey: 'parkedList', sortKey: 'parkedAt', projection: 'ALL' },
  ],
} as const;

// ---------------------------------------------------------------------------------------
// The constant-cost layout (being introduced): one billing-status item per customer.
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
