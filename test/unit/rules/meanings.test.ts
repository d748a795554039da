// Rules own their meaning: every registry type is given a meaning by its kind's rule (a new
// registry line without one fails here instead of being stored and silently ignored), and
// no rule keeps a meaning for a type the registry does not route to it.
import { describe, expect, it } from 'vitest';
import { REGISTRY, type ObjectKind } from '../../../lambdas/core/registry';
import { ruleFor } from '../../../lambdas/core/rules';

const KINDS = [...new Set(REGISTRY.map((e) => e.kind))];

describe('what each registry type means', () => {
  it.each(REGISTRY.map((e) => [e.type, e.kind] as const))(
    '%s has a meaning in the %s rule',
    (type, kind) => {
      expect(ruleFor(kind).meanings.get(type)).toEqual(expect.any(String));
    },
  );

  it.each(KINDS)('the %s rule means nothing by a type the registry does not give it', (kind) => {
    const routed = REGISTRY.filter((e) => e.kind === kind).map((e) => e.type);
    expect([...ruleFor(kind as ObjectKind).meanings.keys()].sort()).toEqual(routed.sort());
  });
});
