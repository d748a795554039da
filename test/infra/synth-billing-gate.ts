// Synthesizes the billing gate the way `npx cdk synth` does (same wiring, cdk.json's
// feature flags, the function bundles the test run built at its start), minus the slow
// parts the infra tests do not need: no copy of the bundles into the assembly (asset
// staging) and no built-in CloudFormation schema validation (`npx cdk synth` in CI does
// both). Each app's cloud assembly goes to a temporary folder, removed when the test file
// ends.

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { addBillingGate } from '../../lib/billing-gate-app';
import type { BillingGateStack } from '../../lib/billing-gate-stack';

export interface SynthesizedGate {
  readonly app: App;
  readonly stack: BillingGateStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
}

/** One violation of a validation plugin, as written to the cloud assembly's report. */
export interface ReportedViolation {
  readonly pluginName: string;
  readonly ruleName: string;
  readonly severity: string;
  readonly constructPaths: readonly string[];
}

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** The assemblies of this test file's apps. */
const outdirs: string[] = [];
// Registered on the test file that imports this module (each file loads it afresh).
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh app with cdk.json's context plus `context`; nothing synthesized yet. */
export function billingGateApp(context: Record<string, unknown> = {}): {
  app: App;
  stack: BillingGateStack;
} {
  const outdir = mkdtempSync(join(tmpdir(), 'billing-gate-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    builtinCloudFormationValidation: false,
    context: { ...cdkJsonContext(), 'aws:cdk:disable-asset-staging': true, ...context },
  });
  return { app, stack: addBillingGate(app) };
}

/** Builds and synthesizes the app once (validation plugins run here, cdk-nag included). */
export function synthesizeBillingGate(context: Record<string, unknown> = {}): SynthesizedGate {
  const { app, stack } = billingGateApp(context);
  const assembly = app.synth();
  return { app, stack, assembly, template: Template.fromStack(stack) };
}

/** Every violation the validation plugins reported during synth (acknowledged ones are not). */
export function reportedViolations(assembly: CloudAssembly): ReportedViolation[] {
  const report = JSON.parse(
    readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{
        ruleName: string;
        severity: string;
        violatingConstructs?: Array<{ constructPath?: string }>;
      }>;
    }>;
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((v) => ({
      pluginName: plugin.pluginName,
      ruleName: v.ruleName,
      severity: v.severity,
      constructPaths: (v.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
    })),
  );
}
