// Every function of the default stack: runtime, log format and levels, log groups and roles
// (shared by the processors of one rule kind), Powertools settings, least IAM wildcards, and
// the sweeper's schedule.

import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../lambdas/core/registry';
import { ENV } from '../../lambdas/lambda-env';
import { processorRoleKey } from '../../lib/processing';
import {
  asArray,
  identityPolicies,
  logicalId,
  NAMESPACE,
  ofType,
  resources,
  stack,
  template,
  resourceOf,
  useDefaultStack,
} from './default-stack';

useDefaultStack();

describe('functions', () => {
  const everyFunction = () => ofType('AWS::Lambda::Function');

  it('run Node.js 24 on arm64', () => {
    // Assess
    expect(everyFunction()).toHaveLength(REGISTRY.length + 4);
    for (const [, fn] of everyFunction()) {
      expect([fn.Properties.Runtime, fn.Properties.Architectures]).toEqual([
        'nodejs24.x',
        ['arm64'],
      ]);
    }
  });

  it('log JSON lines: application level INFO, system level WARN (no START/END/REPORT lines)', () => {
    for (const [, fn] of everyFunction()) {
      // Assess
      expect(fn.Properties.LoggingConfig).toMatchObject({
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'WARN',
      });
      expect(fn.Properties.Environment.Variables.LOG_LEVEL).toBeUndefined();
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    }
  });

  it('log to a log group with a retention: the processors to one they share, the others each to its own', () => {
    // Act
    const groupOf = (fn: IConstruct) =>
      resourceOf(fn).Properties.LoggingConfig.LogGroup.Ref as string;
    const processorGroups = stack.gate.processing.processors.map((p) => groupOf(p.function));
    const otherGroups = [
      stack.gate.ingress.verifier.function,
      stack.gate.ingress.statusApi.function,
      stack.gate.notifier.handler.function,
      stack.gate.processing.sweeper.function,
    ].map(groupOf);
    const groups = everyFunction().map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref);

    // Assess
    expect(new Set(processorGroups)).toEqual(
      new Set([logicalId(stack.gate.processing.processorLogs)]),
    );
    expect(new Set([...otherGroups, processorGroups[0]]).size).toBe(otherGroups.length + 1);
    for (const group of groups) {
      expect(resources[group]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: expect.any(Number) },
      });
    }
  });

  it('have a role of their own, except the processors, which share one per rule kind', () => {
    // Act
    const roleOf = (fn: IConstruct) => resourceOf(fn).Properties.Role['Fn::GetAtt'][0] as string;
    const processorRoles = new Map(
      stack.gate.processing.processors.map((p) => [p.eventType, roleOf(p.function)]),
    );
    const otherRoles = [
      stack.gate.ingress.verifier.function,
      stack.gate.ingress.statusApi.function,
      stack.gate.notifier.handler.function,
      stack.gate.processing.sweeper.function,
    ].map(roleOf);

    // Assess
    for (const [type, role] of processorRoles) {
      const sameKind = [...processorRoles].filter(
        ([other]) => processorRoleKey(other) === processorRoleKey(type),
      );
      expect(new Set(sameKind.map(([, r]) => r))).toEqual(new Set([role]));
    }
    expect(new Set(processorRoles.values()).size).toBe(
      new Set(REGISTRY.map((e) => processorRoleKey(e.type))).size,
    );
    expect(new Set([...otherRoles, ...processorRoles.values()]).size).toBe(
      otherRoles.length + new Set(processorRoles.values()).size,
    );
  });

  it('hold their grants in their roles: no policy resource beside a role', () => {
    // Assess
    template.resourceCountIs('AWS::IAM::Policy', 0);
    for (const [, role] of ofType('AWS::IAM::Role')) {
      expect(role.Properties.Policies).toEqual([expect.objectContaining({ PolicyName: 'Grants' })]);
    }
  });

  it('carry the Powertools service name and metrics namespace', () => {
    for (const [, fn] of everyFunction()) {
      // Assess
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.stringMatching(
          /^(verifier|processor|status-api|notifier|sweeper)$/,
        ),
        POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
      });
    }
  });

  it('are not traced unless tracing is asked for', () => {
    // Assess
    for (const [, fn] of everyFunction()) expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('have no managed policies: every right comes from a grant', () => {
    // Assess
    for (const [, role] of ofType('AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('have no wildcard actions and no wildcard resource except ListStreams', () => {
    // Act
    const wildcards = identityPolicies()
      .flatMap((p) => p.statements)
      .filter(
        (s) =>
          asArray(s.Resource).includes('*') ||
          asArray(s.Action as string | string[]).some((a) => a === '*' || a.endsWith(':*')),
      );

    // Assess
    expect(wildcards).toEqual([{ Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' }]);
  });

  it('run the sweeper every minute, retrying parked events every SWEEP_MINUTES (5)', () => {
    // Assess
    expect(
      resourceOf(stack.gate.processing.sweeper.function).Properties.Environment.Variables[
        ENV.sweepMinutes
      ],
    ).toBe('5');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.gate.processing.sweeper.function), 'Arn'] },
        }),
      ],
    });
  });
});
