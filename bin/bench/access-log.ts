// The API Gateway access log line of one request, rendered from the format the stack
// really deploys: the app is built as `cdk synth` builds it (bundling skipped, nothing
// synthesized) and the stage's format read back, so a change to the format changes the
// measured bytes.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The access log format of the default stage's `$default` API stage. */
export async function stackAccessLogFormat(): Promise<string> {
  const { App } = await import('aws-cdk-lib');
  const { addBillingGate } = await import('../../lib/billing-gate-app');
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(path.join(tmpdir(), 'bench-cdk-'));
  try {
    const app = new App({
      outdir,
      context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
    });
    const stack = addBillingGate(app);
    const stage = stack.gate.ingress.stage.node.defaultChild as {
      accessLogSettings?: { format?: string };
    };
    const format = stage.accessLogSettings?.format;
    if (!format) throw new Error('the API stage has no access log format');
    return format;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Fills every `$context.*` variable of `format` from `values`; a variable the bench has no
 * value for stops it, so a new field is never silently measured as empty.
 */
export function renderAccessLogLine(format: string, values: Record<string, string>): string {
  return format.replace(/\$context\.[A-Za-z0-9_.]+/g, (variable) => {
    const name = variable.slice('$context.'.length);
    const value = values[name];
    if (value === undefined) throw new Error(`no sample value for ${variable} in the access log`);
    return value;
  });
}

/** Realistic values for one request (API Gateway writes `-` for an empty field). */
export function sampleAccessLogValues(request: {
  routeKey: string;
  sourceIp: string;
  responseLength: number;
  callerArn: string | null;
}): Record<string, string> {
  return {
    requestId: 'Ab1Cd2Ef3Gh4Ij5=',
    requestTime: '29/Nov/2026:06:35:18 +0000',
    'identity.sourceIp': request.sourceIp,
    routeKey: request.routeKey,
    status: '200',
    responseLength: String(request.responseLength),
    responseLatency: '42',
    integrationStatus: '200',
    integrationLatency: '40',
    'integration.latency': '40',
    'integration.status': '200',
    'error.message': '-',
    'identity.userArn': request.callerArn ?? '-',
  };
}
