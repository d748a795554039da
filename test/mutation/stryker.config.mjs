// Mutation testing of lambdas/core (the rules and the derivation) against the unit tests.
// Run through `npm run test:mutation` (test/mutation/run.ts), which adds the survivor check
// and the closing score line. Paths are relative to the repository root.
// @ts-check

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // related: false, so that a mutant run also includes tests that import the core
  // dynamically (test/unit/core-modules.test.ts catches a module that throws while loading).
  vitest: { configFile: 'test/mutation/vitest.config.ts', related: false },
  mutate: ['lambdas/core/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // No mutant of these pure functions can loop for ever, but a busy machine can stretch a
  // test run: a generous limit keeps a slow run from passing for a detected (timed-out)
  // mutant, which would hide a survivor.
  timeoutMS: 60_000,
  // Results of unchanged mutants are reused from the committed baseline; --force reruns all.
  // Static mutants (module-level code reached only while a file's imports load) are active
  // from module load, so Stryker cannot tell which tests cover them and would run the whole
  // suite for each. They are left out; the tests that guard module-level tables load their
  // module inside the test body, which makes those mutants covered and tested (README.md).
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'test/mutation/baseline.json',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'coverage/mutation/mutation.json' },
  htmlReporter: { fileName: 'coverage/mutation/index.html' },
  clearTextReporter: { allowColor: false, reportTests: false, reportMutants: false },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 95, low: 90, break: null },
};

export default config;
