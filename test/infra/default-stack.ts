// The default stack (all registry types, webhook ingress, dev stage), synthesized once per
// test file, and the lookups the per-behaviour test files share: resources by type or by
// construct, a function's environment and the Allow statements of its role, alarms by metric.
// Call useDefaultStack() at the top of a test file; the bindings below are live.

import { Stack, type CfnResource } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll } from 'vitest';
import { metricNamespace } from '../../lambdas/core/metric-names';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { synthesizeBillingGate } from './synth-billing-gate';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export let stack: BillingGateStack;
export let template: Template;
export let resources: Record<string, Json>;

/** Synthesizes the default stack before the file's tests (extra context on top of it). */
export function useDefaultStack(context: Record<string, unknown> = {}): void {
  beforeAll(() => {
    ({ stack, template } = synthesizeBillingGate(context));
    resources = template.toJSON().Resources as Record<string, Json>;
  });
}

export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource);
}

export function ofType(type: string): Array<[string, Json]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

export function resourceOf(construct: IConstruct): Json {
  const found = resources[logicalId(construct)];
  if (!found) throw new Error(`no resource for ${construct.node.path}`);
  return found;
}

export function envOf(fn: IConstruct): Record<string, unknown> {
  return resourceOf(fn).Properties.Environment.Variables;
}

export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

export interface IdentityPolicy {
  /** The logical id of the AWS::IAM::Policy, or of the role holding it inline. */
  readonly id: string;
  /** Logical ids of the roles it applies to. */
  readonly roles: readonly string[];
  readonly statements: readonly Json[];
}

/**
 * Every identity policy of the template: AWS::IAM::Policy resources and the inline policies
 * of roles (where the gate's function roles keep their grants).
 */
export function identityPolicies(): IdentityPolicy[] {
  const attached = ofType('AWS::IAM::Policy').map(([id, p]) => ({
    id,
    roles: (p.Properties.Roles as Json[]).map((r) => r.Ref as string),
    statements: p.Properties.PolicyDocument.Statement as Json[],
  }));
  const inline = ofType('AWS::IAM::Role').flatMap(([id, r]) =>
    ((r.Properties.Policies ?? []) as Json[]).map((p) => ({
      id,
      roles: [id],
      statements: p.PolicyDocument.Statement as Json[],
    })),
  );
  return [...attached, ...inline];
}

/** Allow statements of every policy that applies to the function's role. */
export function statementsOf(fn: IConstruct): Json[] {
  const roleId = resourceOf(fn).Properties.Role['Fn::GetAtt'][0];
  return identityPolicies()
    .filter((p) => p.roles.includes(roleId))
    .flatMap((p) => p.statements)
    .filter((s) => s.Effect === 'Allow');
}

export function actionsOf(fn: IConstruct): string[] {
  return statementsOf(fn).flatMap((s) => asArray(s.Action as string | string[]));
}

/** Actions the function may perform on the resource (a resolved reference, e.g. {Ref}). */
export function actionsOn(fn: IConstruct, resource: unknown): string[] {
  return statementsOf(fn)
    .filter((s) => asArray(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(resource)))
    .flatMap((s) => asArray(s.Action as string | string[]));
}

export const ref = (value: string) => stack.resolve(value);
export const NAMESPACE = metricNamespace('dev');

export function alarmsOn(metricName: string, dimensionValue: unknown): Json[] {
  return ofType('AWS::CloudWatch::Alarm')
    .map(([, a]) => a.Properties)
    .filter(
      (p) =>
        p.MetricName === metricName &&
        (p.Dimensions ?? []).some(
          (d: Json) => JSON.stringify(d.Value) === JSON.stringify(dimensionValue),
        ),
    );
}

/**
 * The processors whose rule may ask Stripe: disputes look their charge up, a failed
 * PaymentIntent its invoice (a detach never asks).
 */
export const asksStripe = (type: string) =>
  type.startsWith('charge.dispute.') || type === 'payment_intent.payment_failed';
