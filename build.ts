// `npm run build`: what the construct package `stripe-billing-gate` ships, in dist/.
//   dist/functions/<handler>/index.mjs  each function's code (ESBUILD_SHAPE: one minified ES
//                                       module, the AWS SDK inside), the Lambda code assets
//                                       of lib/gate-function.ts, for this repository's own
//                                       `npx cdk synth` and for the package alike
//   dist/index.cjs, dist/index.d.cts    lib/index.ts compiled to one CommonJS file (ES
//                                       modules import it too) and its declarations;
//                                       aws-cdk-lib and constructs stay imports (peers)
// `npm run build -- functions` builds the functions only (cdk.json's app runs it before
// every synth, the test run once at its start). A file whose content is unchanged is left
// alone and a changed one is replaced in one rename, so a build that runs while a synth or
// a test reads the bundles never shows them half a file.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type OutputFile } from 'esbuild';
import {
  BUNDLE_FILE,
  ESBUILD_SHAPE,
  functionBundleDir,
  handlerEntry,
  type HandlerName,
} from './lib/gate-function';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(ROOT, 'dist');

/** Every handler of lib/gate-function.ts, each built to dist/functions/<name>/. */
export const HANDLERS = ['verifier', 'processor', 'status-api', 'notifier', 'sweeper'] as const;
// A handler added to HandlerName and not here fails to compile.
const everyHandler: Exclude<HandlerName, (typeof HANDLERS)[number]> extends never ? true : never =
  true;
void everyHandler;

/** The construct package's peers: imports of dist/index.cjs, never bundled into it. */
const PEERS = ['aws-cdk-lib', 'constructs'];
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Writes `bytes` to `file` unless it already holds exactly them; a rename replaces it. */
function emit(file: string, bytes: Uint8Array): boolean {
  const content = Buffer.from(bytes);
  try {
    if (readFileSync(file).equals(content)) return false;
  } catch {
    // not built yet
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
  return true;
}

function importsOf(metafile: Metafile): string[] {
  return [
    ...new Set(
      Object.values(metafile.outputs).flatMap((o) =>
        o.imports.filter((i) => i.external).map((i) => i.path),
      ),
    ),
  ];
}

/** One function's bundle, exactly as it ships. */
async function buildFunction(name: HandlerName): Promise<{ file: string; changed: boolean }> {
  const file = path.join(functionBundleDir(name), BUNDLE_FILE);
  const result = await build({
    entryPoints: [handlerEntry(name)],
    outfile: file,
    bundle: true,
    write: false,
    metafile: true,
    target: ESBUILD_SHAPE.target,
    format: ESBUILD_SHAPE.format,
    platform: ESBUILD_SHAPE.platform,
    minify: ESBUILD_SHAPE.minify,
    mainFields: [...ESBUILD_SHAPE.mainFields],
    banner: { js: ESBUILD_SHAPE.banner },
    external: [...ESBUILD_SHAPE.external],
    // No source maps: they would double the asset and, with --enable-source-maps, slow every
    // cold start; errors are logged by name and message, which the minifier keeps.
    sourcemap: false,
    logLevel: 'warning',
  });
  const [output] = result.outputFiles as [OutputFile];
  return { file, changed: emit(file, output.contents) };
}

/** Every function's bundle; the files that changed. */
export async function buildFunctions(): Promise<string[]> {
  const built = await Promise.all(HANDLERS.map(buildFunction));
  return built.filter((b) => b.changed).map((b) => b.file);
}

/** dist/index.cjs: lib/index.ts and what it uses of lambdas/, in one CommonJS file. */
async function buildConstructModule(): Promise<void> {
  const file = path.join(DIST, 'index.cjs');
  const result = await build({
    entryPoints: [path.join(ROOT, 'lib', 'index.ts')],
    outfile: file,
    bundle: true,
    write: false,
    metafile: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: PEERS.flatMap((p) => [p, `${p}/*`]),
    // lib/ finds the function bundles from its own location (`import.meta.url`); in the
    // CommonJS file that location is the file's own, dist/index.cjs.
    define: { 'import.meta.url': '__billingGateModuleUrl' },
    banner: {
      js: `"use strict";\nconst __billingGateModuleUrl = require('node:url').pathToFileURL(__filename).href;`,
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
  const unexpected = importsOf(result.metafile).filter(
    (i) => !BUILTINS.has(i) && !PEERS.some((p) => i === p || i.startsWith(`${p}/`)),
  );
  if (unexpected.length > 0) {
    throw new Error(
      `dist/index.cjs would import ${unexpected.join(', ')}: only the peers may stay imports`,
    );
  }
  const tooling = Object.keys(result.metafile.inputs).filter((i) => /^(bin|test)\//.test(i));
  if (tooling.length > 0) {
    throw new Error(`dist/index.cjs would hold development tooling: ${tooling.join(', ')}`);
  }
  const [output] = result.outputFiles as [OutputFile];
  emit(file, output.contents);
}

/** dist/index.d.cts: the declarations of lib/index.ts in one file (CommonJS, as the code). */
async function buildDeclarations(): Promise<void> {
  const { generateDtsBundle } = await import('dts-bundle-generator');
  const [declarations] = generateDtsBundle(
    [
      {
        filePath: path.join(ROOT, 'lib', 'index.ts'),
        libraries: { importedLibraries: PEERS, allowedTypesLibraries: [] },
        output: { noBanner: true, exportReferencedTypes: false },
      },
    ],
    { preferredConfigPath: path.join(ROOT, 'tsconfig.json') },
  );
  emit(path.join(DIST, 'index.d.cts'), Buffer.from(declarations!));
}

/** The whole package: the functions, the CommonJS module and its declarations. */
export async function buildPackage(): Promise<void> {
  await Promise.all([buildFunctions(), buildConstructModule()]);
  await buildDeclarations();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const what = process.argv[2] ?? 'all';
  if (what !== 'all' && what !== 'functions') {
    console.error(`usage: npm run build [-- functions]   (got "${what}")`);
    process.exit(2);
  }
  if (what === 'functions') {
    // Quiet: `npx cdk synth` runs it before every synth.
    await buildFunctions();
  } else {
    const started = performance.now();
    await buildPackage();
    console.error(
      `built the package in dist/ (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
}
