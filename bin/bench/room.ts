// Room in CloudFormation (section 9): resources per template of every configuration, what
// one more event type adds, and how many more types fit. The budget and the configurations
// are shared with the infra test that enforces them (test/infra/room.test.ts).

import { REGISTRY } from '../../lambdas/core/registry';
import type { SynthesizedTemplate } from './synth-stack';

/** CloudFormation's limit per template. */
export const TEMPLATE_RESOURCE_LIMIT = 500;
/** The budget: the largest template of the largest configuration, 60% of the limit. */
export const TEMPLATE_RESOURCE_BUDGET = 300;
/**
 * Resources of the budget kept for additions already planned (a custom resource writing a
 * settings item, a route, a couple of alarms and a schedule): a new event type may use the
 * rest only.
 */
export const RESERVED_FOR_ADDITIONS = 25;

/** The smallest type set a gate is useful with: invoices fail, then get paid. */
export const MINIMAL_TYPES = ['invoice.payment_failed', 'invoice.paid'] as const;

/** An event source of the longest legal name (256 characters), for the policy size check. */
export const LONGEST_EVENT_SOURCE = `aws.partner/stripe.com/ed_${'a'.repeat(256 - 'aws.partner/stripe.com/ed_'.length)}`;

export interface RoomConfiguration {
  readonly name: string;
  readonly context: Record<string, string>;
  /** Types enabled (the context's enabledEventTypes, else the whole registry). */
  readonly types: number;
}

/** Every configuration the room budget is checked for. */
export function roomConfigurations(eventSource: string): RoomConfiguration[] {
  const all = REGISTRY.length;
  const both = { ingress: 'both', eventBridgeSource: eventSource };
  return [
    { name: 'webhook, all types', context: {}, types: all },
    {
      name: 'eventbridge, all types',
      context: { ingress: 'eventbridge', eventBridgeSource: eventSource },
      types: all,
    },
    { name: 'both, all types', context: both, types: all },
    {
      name: 'both, minimal type set',
      context: { ...both, enabledEventTypes: MINIMAL_TYPES.join(',') },
      types: MINIMAL_TYPES.length,
    },
    {
      name: 'both, all types, stage prod with an alarm e-mail',
      context: { ...both, stage: 'prod', alarmEmail: 'oncall@example.com' },
      types: all,
    },
  ];
}

/**
 * Three configurations that tell what a type costs: the minimal set with both ways in, the
 * same plus a type of a kind already there, and plus a type of a new kind (which brings the
 * kind's shared role).
 */
export function growthConfigurations(eventSource: string): {
  base: Record<string, string>;
  sameKind: Record<string, string>;
  newKind: Record<string, string>;
} {
  const minimal: readonly string[] = MINIMAL_TYPES;
  const kinds = new Set(REGISTRY.filter((e) => minimal.includes(e.type)).map((e) => e.kind));
  const same = REGISTRY.find((e) => kinds.has(e.kind) && !minimal.includes(e.type));
  const other = REGISTRY.find((e) => !kinds.has(e.kind) && e.stripeApi === undefined);
  if (!same || !other) throw new Error('the registry has no type to grow the minimal set with');
  const withTypes = (types: readonly string[]) => ({
    ingress: 'both',
    eventBridgeSource: eventSource,
    enabledEventTypes: types.join(','),
  });
  return {
    base: withTypes(minimal),
    sameKind: withTypes([...minimal, same.type]),
    newKind: withTypes([...minimal, other.type]),
  };
}

export const resourceCount = (t: SynthesizedTemplate) => Object.keys(t.resources).length;

/** The largest template's resource count. */
export const largest = (templates: readonly SynthesizedTemplate[]) =>
  Math.max(...templates.map(resourceCount));

/** How many more types fit the budget (with the reserve kept) at `perType` each. */
export function moreTypesThatFit(count: number, perType: number, reserve: number): number {
  return Math.floor((TEMPLATE_RESOURCE_BUDGET - reserve - count) / perType);
}
