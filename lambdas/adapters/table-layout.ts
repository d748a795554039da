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
