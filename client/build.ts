// Builds dist/: index.js (ES module) and index.cjs (CommonJS), each one file holding the
// client and the billing-status code it shares with the functions (lambdas/, bundled in;
// the AWS SDK stays a dependency), and index.d.ts / index.d.cts, one declaration file each
// that references no file outside dist. A file whose content is unchanged is not rewritten,
// and a changed one is replaced in one rename, so a build running while tests import the
// package never shows them half a file.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Format } from 'esbuild';
import { generateDtsBundle } from 'dts-bundle-generator';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(HERE, 'dist');
const ENTRY = path.join(HERE, 'src', 'index.ts');
const pkg = JSON.parse(readFileSync(path.join(HERE, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};
const banner = `// ${pkg.name} ${pkg.version}`;

/** Writes `content` to dist/`name` unless it already holds exactly that. */
function emit(name: string, content: string | Uint8Array): void {
  const file = path.join(DIST, name);
  const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  try {
    if (readFileSync(file).equals(bytes)) return;
  } catch {
    // not built yet
  }
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, file);
}

async function bundle(format: Format, outfile: string): Promise<void> {
  const result = await build({
    entryPoints: [ENTRY],
    outfile: path.join(DIST, outfile),
    bundle: true,
    format,
    platform: 'node',
    target: 'node20',
    // Only the declared dependencies stay imports; everything else (lambdas/) is bundled.
    external: Object.keys(pkg.dependencies),
    banner: { js: banner },
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const imported = new Set(
    Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path)),
  );
  const undeclared = [...imported].filter((p) => !(p in pkg.dependencies));
  if (undeclared.length > 0) {
    throw new Error(`dist/${outfile} imports undeclared modules: ${undeclared.join(', ')}`);
  }
  for (const file of result.outputFiles) emit(path.basename(file.path), file.contents);
}

mkdirSync(DIST, { recursive: true });
await Promise.all([bundle('esm', 'index.js'), bundle('cjs', 'index.cjs')]);

const [declarations] = generateDtsBundle(
  [
    {
      filePath: ENTRY,
      libraries: { importedLibraries: Object.keys(pkg.dependencies), allowedTypesLibraries: [] },
      output: { noBanner: true, exportReferencedTypes: false },
    },
  ],
  { preferredConfigPath: path.join(HERE, 'tsconfig.json') },
);
// The same declarations for both: TypeScript reads .d.ts as the ES module's, .d.cts as the
// CommonJS file's (a package of "type": "module" needs both to type `require` correctly).
emit('index.d.ts', `${banner}\n${declarations}`);
emit('index.d.cts', `${banner}\n${declarations}`);

const size = (f: string) => readFileSync(path.join(DIST, f)).length;
console.log(
  `built ${path.relative(process.cwd(), DIST) || 'dist'}: ${[
    'index.js',
    'index.cjs',
    'index.d.ts',
    'index.d.cts',
  ]
    .map((f) => `${f} ${size(f)} bytes`)
    .join(', ')}`,
);
