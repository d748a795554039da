// The judge of `npm run test:mutation`: which undetected mutants the list of equivalent
// mutants excuses, and the score it prints.
import { describe, expect, it } from 'vitest';
import {
  describeSurvivor,
  judge,
  originalCode,
  type EquivalentEntry,
  type Report,
  type ReportMutant,
} from '../mutation/run';

const SOURCE = [
  'export function f(a: number, b: number) {',
  '  if (a < 1 || a > 12) return null;',
  '  return a > b ? a : b;',
  '}',
].join('\n');

const at = (line: number, column: number, endLine: number, endColumn: number) => ({
  start: { line, column },
  end: { line: endLine, column: endColumn },
});

const mutant = (
  id: string,
  status: string,
  mutatorName: string,
  replacement: string,
  location: ReportMutant['location'],
): ReportMutant => ({ id, status, mutatorName, replacement, location });

const report = (mutants: ReportMutant[]): Report => ({
  files: { 'lambdas/core/f.ts': { source: SOURCE, mutants } },
});

describe('mutation report judge', () => {
  it('reads the replaced code from 1-based lines and columns, end excluded', () => {
    expect(originalCode(SOURCE, at(2, 7, 2, 12))).toBe('a < 1');
    expect(originalCode(SOURCE, at(1, 41, 4, 2))).toBe(
      '{\n  if (a < 1 || a > 12) return null;\n  return a > b ? a : b;\n}',
    );
  });

  it('scores killed and timed-out mutants against all valid ones, errors left out', () => {
    const v = judge(
      report([
        mutant('1', 'Killed', 'EqualityOperator', 'a <= 1', at(2, 7, 2, 12)),
        mutant('2', 'Timeout', 'BlockStatement', '{}', at(1, 41, 4, 2)),
        mutant('3', 'Survived', 'EqualityOperator', 'a >= 12', at(2, 16, 2, 22)),
        mutant('4', 'NoCoverage', 'ConditionalExpression', 'true', at(3, 10, 3, 15)),
        mutant('5', 'CompileError', 'BooleanLiteral', 'false', at(2, 7, 2, 12)),
      ]),
      [],
    );
    expect(v.score).toBe(50);
    expect(v.byStatus).toEqual({
      Killed: 1,
      Timeout: 1,
      Survived: 1,
      NoCoverage: 1,
      CompileError: 1,
    });
    expect(v.unlisted.map((s) => `${s.line}:${s.column} ${s.code}`)).toEqual([
      '2:16 a > 12',
      '3:10 a > b',
    ]);
  });

  it('excuses a survivor listed by file, mutator, code and replacement, and no other', () => {
    const r = report([
      mutant('1', 'Survived', 'EqualityOperator', 'a >= 12', at(2, 16, 2, 22)),
      mutant('2', 'Survived', 'ConditionalExpression', 'true', at(3, 10, 3, 15)),
    ]);
    const entry = (over: Partial<EquivalentEntry>): EquivalentEntry => ({
      file: 'lambdas/core/f.ts',
      mutator: 'EqualityOperator',
      code: 'a  >  12',
      replacement: 'a >= 12',
      reason: 'no card has month 12.5',
      ...over,
    });
    expect(judge(r, [entry({})]).unlisted.map((s) => s.line)).toEqual([3]);
    expect(judge(r, [entry({})]).listed).toBe(1);
    // Any field that differs leaves the survivor unlisted and the entry stale.
    for (const wrong of [
      entry({ file: 'lambdas/core/g.ts' }),
      entry({ mutator: 'ConditionalExpression' }),
      entry({ replacement: 'a < 12' }),
      entry({ code: 'b > 12' }),
    ]) {
      const v = judge(r, [wrong]);
      expect(v.unlisted).toHaveLength(2);
      expect(v.stale).toEqual([wrong]);
    }
  });

  it('matches a long block by the start of its code', () => {
    const v = judge(report([mutant('1', 'Survived', 'BlockStatement', '{}', at(1, 41, 4, 2))]), [
      {
        file: 'lambdas/core/f.ts',
        mutator: 'BlockStatement',
        code: '{ if (a < 1',
        replacement: '{}',
        reason: 'example',
      },
    ]);
    expect(v).toMatchObject({ unlisted: [], listed: 1, stale: [], score: 0 });
  });

  it('describes a survivor on one line with its place in the file', () => {
    const v = judge(
      report([mutant('1', 'Survived', 'EqualityOperator', 'a >= 12', at(2, 16, 2, 22))]),
      [],
    );
    expect(describeSurvivor(v.unlisted[0]!)).toBe(
      'lambdas/core/f.ts:2:16 EqualityOperator (Survived): a > 12 -> a >= 12',
    );
  });
});
