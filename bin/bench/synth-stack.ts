// The stack's CloudFormation templates as `npx cdk synth` writes them (cdk.json's context,
// the app's own wiring; bundling skipped, since no function code is priced or counted), for
// the idle-cost and room sections. Every template of the assembly is returned, nested ones
// included, so a stack split into nested stacks is counted per template.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One CloudFormation resource, as far as the bench reads it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface SynthesizedTemplate {
  /** The template's file name in the cloud assembly, e.g. `StripeBillingGate.template.json`. */
  readonly file: string;
  readonly resources: Readonly<Record<string, TemplateResource>>;
}

/** Synthesizes the app with `context` on top of cdk.json's; returns every template. */
export async function synthesizeTemplates(
  context: Record<string, string> = {},
): Promise<SynthesizedTemplate[]> {
  const { App } = await import('aws-cdk-lib');
  const { addBillingGate } = await import('../../lib/billing-gate-app');
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
  try {
    const app = new App({
      outdir,
      // Version reporting on, as the CLI has it: its metadata resource counts too.
      context: {
        ...cdkJson.context,
        'aws:cdk:bundling-stacks': [],
        'aws:cdk:version-reporting': true,
        ...context,
      },
    });
    addBillingGate(app);
    app.synth();
    return readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .sort()
      .map((file) => {
        const template = JSON.parse(readFileSync(path.join(outdir, file), 'utf8')) as {
          Resources?: Record<string, TemplateResource>;
        };
        return { file, resources: template.Resources ?? {} };
      });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
