// docs/behaviour.md is what the project promises; code and tests point at its sections as
// `docs/behaviour.md#<section>`. Every such pointer must name a section that exists, and
// nothing in the repository may point at documents a maintainer does not have.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const DOC = readFileSync(path.join(ROOT, 'docs/behaviour.md'), 'utf8');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const ANCHORS = new Set(
  DOC.split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => anchor(l.replace(/^#+ /, ''))),
);

/**
 * The repository's own text files as they are in the working tree: tracked or new, as git
 * sees them, less the tracked files deleted from the working tree (git still lists them
 * until the deletion is committed).
 */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return listed
    .split('\n')
    .filter((f) => /\.(ts|md|json|js|mjs)$/.test(f) && !f.endsWith('package-lock.json'))
    .filter((f) => existsSync(path.join(ROOT, f)));
}

describe('docs/behaviour.md', () => {
  it('has the sections the code and tests point at', () => {
    const pointers = new Map<string, string[]>();
    for (const file of repositoryFiles()) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/docs\/behaviour\.md#([\w-]+)/g)) {
        pointers.set(m[1]!, [...(pointers.get(m[1]!) ?? []), file]);
      }
    }
    expect(pointers.size).toBeGreaterThan(5);
    const missing = [...pointers].filter(([a]) => !ANCHORS.has(a));
    expect(missing).toEqual([]);
  });

  it('is the only behaviour reference: nothing cites files outside the repository', () => {
    const offending = repositoryFiles().filter((file) => {
      // This test names what it looks for; Stryker's baseline is generated from old sources.
      if (file === 'test/unit/behaviour-doc.test.ts' || file === 'test/mutation/baseline.json') {
        return false;
      }
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      return /CONTRACT(\.md| section)|\.\.\/shared\//.test(text);
    });
    expect(offending).toEqual([]);
  });
});
