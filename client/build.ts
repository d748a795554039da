// Builds dist/: index.js, one ES module holding the client and the billing-status code it
// shares with the functions (lambdas/, bundled in; the AWS SDK stays a dependency), and
// index.d.ts, one declaration file that references no file outside dist.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
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

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });

const result = await build({
  entryPoints: [ENTRY],
  outfile: path.join(DIST, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Only the declared dependencies stay imports; everything else (lambdas/) is bundled.
  external: Object.keys(pkg.dependencies),
  banner: { js: banner },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const imported = new Set(
  Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path)),
);
const undeclared = [...imported].filter((p) => !(p in pkg.dependencies));
if (undeclared.length > 0) {
  throw new Error(`dist/index.js imports undeclared modules: ${undeclared.join(', ')}`);
}

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
writeFileSync(path.join(DIST, 'index.d.ts'), `${banner}\n${declarations}`);

const size = (f: string) => readFileSync(path.join(DIST, f)).length;
console.log(
  `built ${path.relative(process.cwd(), DIST) || 'dist'}: index.js ${size('index.js')} bytes, index.d.ts ${size('index.d.ts')} bytes`,
);
