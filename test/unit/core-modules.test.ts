// Every module of lambdas/core loads on its own. The modules are imported inside the test
// (not at the top of the file), so a module that throws while loading fails this test
// instead of silently removing the tests of the files that import it.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const CORE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'lambdas',
  'core',
);

function modulesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return modulesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

describe('lambdas/core modules', () => {
  const modules = modulesUnder(CORE);

  it('finds the core modules', () => {
    expect(modules.map((m) => path.relative(CORE, m))).toEqual(
      expect.arrayContaining(['billing-status.ts', 'registry.ts', path.join('rules', 'index.ts')]),
    );
  });

  it.each(modules.map((m) => [path.relative(CORE, m), m]))('loads %s', async (_name, file) => {
    const loaded: unknown = await import(pathToFileURL(file).href);
    expect(typeof loaded).toBe('object');
  });
});
