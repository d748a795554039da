// Room to grow: every configuration (webhook, eventbridge, both; every registry type, a
// minimal type set, another stage) is synthesized and each of its templates counted against
// the budget of 300 resources with 25 of them kept for planned additions; what a type adds is
// measured, and the one queue policy every processor queue shares stays within SQS's limits.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LONGEST_EVENT_SOURCE,
  RESERVED_FOR_ADDITIONS,
  TEMPLATE_RESOURCE_BUDGET,
  growthConfigurations,
  largest,
  moreTypesThatFit,
  roomConfigurations,
  type RoomConfiguration,
} from '../../bin/bench/room';
import type { SynthesizedTemplate } from '../../bin/bench/synth-stack';
import { REGISTRY } from '../../lambdas/core/registry';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** SQS's limits on one queue policy. */
const SQS_POLICY_STATEMENTS = 20;
const SQS_POLICY_BYTES = 8192;

interface Synthesized {
  readonly config: RoomConfiguration;
  readonly stack: BillingGateStack;
  readonly templates: SynthesizedTemplate[];
}

/** Every template of the cloud assembly, nested stacks' included. */
function templatesOf(directory: string): SynthesizedTemplate[] {
  return readdirSync(directory)
    .filter((f) => f.endsWith('.template.json'))
    .map((file) => ({
      file,
      resources: (
        JSON.parse(readFileSync(join(directory, file), 'utf8')) as {
          Resources: Record<string, Json>;
        }
      ).Resources as SynthesizedTemplate['resources'],
    }));
}

/**
 * A policy document as SQS would store it, with every reference replaced by the longest
 * value it can take here: partitions, regions, account ids, and logical names at
 * CloudFormation's limits.
 */
function render(value: unknown): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws-iso-b',
    'AWS::Region': 'ap-southeast-5',
    'AWS::AccountId': '123456789012',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const v = value as Json;
    if (typeof v.Ref === 'string') return pseudo[v.Ref] ?? 'x'.repeat(128);
    if (v['Fn::GetAtt']) return `arn:aws-iso-b:sqs:ap-southeast-5:123456789012:${'x'.repeat(80)}`;
    if (v['Fn::Join']) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => String(render(p))).join(sep);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x)]));
  }
  return value;
}

const synthesized: Synthesized[] = [];
const growth: Record<'base' | 'sameKind' | 'newKind', number> = {
  base: 0,
  sameKind: 0,
  newKind: 0,
};
// Eight synths with cdk-nag: the deadline is for a busy machine.
beforeAll(() => {
  // Version reporting on, as `npx cdk synth` has it: its metadata resource counts too.
  const asTheCliSynthesizes = { 'aws:cdk:version-reporting': true };
  for (const config of roomConfigurations(LONGEST_EVENT_SOURCE)) {
    const { stack, assembly } = synthesizeBillingGate({
      ...config.context,
      ...asTheCliSynthesizes,
    });
    synthesized.push({ config, stack, templates: templatesOf(assembly.directory) });
  }
  for (const [name, context] of Object.entries(growthConfigurations(LONGEST_EVENT_SOURCE))) {
    const { assembly } = synthesizeBillingGate({ ...context, ...asTheCliSynthesizes });
    growth[name as keyof typeof growth] = largest(templatesOf(assembly.directory));
  }
}, 600_000);

const named = (name: string) => {
  const found = synthesized.find((s) => s.config.name === name);
  if (!found) throw new Error(`no configuration ${name}`);
  return found;
};

describe('room in CloudFormation', () => {
  it('synthesizes every configuration with every registry type where it asks for all', () => {
    // Assess
    expect(
      synthesized.map((s) => [s.config.name, s.stack.gate.processing.processors.length]),
    ).toEqual(synthesized.map((s) => [s.config.name, s.config.types]));
    expect(named('webhook, all types').config.types).toBe(REGISTRY.length);
  });

  it(`keeps every template of every configuration within ${TEMPLATE_RESOURCE_BUDGET} resources, ${RESERVED_FOR_ADDITIONS} of them left for planned additions`, () => {
    for (const s of synthesized) {
      for (const t of s.templates) {
        // Act
        const count = Object.keys(t.resources).length;
        console.log(`${s.config.name}: ${t.file} ${count} resources`);

        // Assess
        expect(count, `${s.config.name}: ${t.file}`).toBeLessThanOrEqual(
          TEMPLATE_RESOURCE_BUDGET - RESERVED_FOR_ADDITIONS,
        );
      }
    }
  });

  it('adds six resources per event type with both ways in (queue, DLQ, function, mapping, alarm, rule), one more for a new rule kind (its role)', () => {
    // Act
    const perType = growth.sameKind - growth.base;
    const perKind = growth.newKind - growth.sameKind;
    const fit = moreTypesThatFit(
      largest(named('both, all types').templates),
      perType + perKind,
      RESERVED_FOR_ADDITIONS,
    );
    console.log(`${perType} per type, ${perKind} more for a new kind; ${fit} more types fit`);

    // Assess
    expect(perType).toBe(6);
    expect(perKind).toBe(1);
    expect(fit).toBeGreaterThanOrEqual(2);
  });

  it("keeps the shared queue policy within SQS's 20 statements and 8,192 bytes, even with the longest event source name", () => {
    for (const s of synthesized) {
      // Act
      const policies = s.templates.flatMap((t) =>
        Object.values(t.resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy'),
      );

      // Assess
      expect(policies.length, s.config.name).toBeGreaterThan(0);
      for (const p of policies) {
        const document = (p.Properties as Json).PolicyDocument as Json;
        expect(document.Statement.length).toBeLessThanOrEqual(SQS_POLICY_STATEMENTS);
        expect(Buffer.byteLength(JSON.stringify(render(document)))).toBeLessThanOrEqual(
          SQS_POLICY_BYTES,
        );
      }
    }
  });

  it('gives the queues of all types one policy, the notifier failures queue one of its own', () => {
    // Act
    const policies = named('both, all types')
      .templates.flatMap((t) => Object.values(t.resources))
      .filter((r) => r.Type === 'AWS::SQS::QueuePolicy')
      .map((p) => ((p.Properties as Json).Queues as unknown[]).length)
      .sort((a, b) => a - b);

    // Assess
    expect(policies).toEqual([1, 2 * REGISTRY.length]);
  });
});
