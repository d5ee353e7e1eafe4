/* global process */
// npm run package: kdev as one installable file, kdev-<version>.tgz, that
// `npm install -g ./kdev-<version>.tgz` installs offline (nothing left to fetch):
//   dist/kdev.mjs     the CLI and everything it imports, bundled by esbuild (ink's layout
//                     engine is WebAssembly inlined in its JS, so it comes along)
//   templates/        the environment templates (with their built service bundles)
//   node_modules/     bundled: @kdev/sync-sidecar (the sidecar's code that core sends into
//                     dev pods, found with require.resolve) and bufferutil's prebuilt
//                     native addon (faster WebSocket frames; ws falls back to JS without it)
// Bins: kdev, and kubectl-kdev so that `kubectl kdev …` runs it as a kubectl plugin, and
// kubectl_complete-kdev, which kubectl's own completion runs to complete `kubectl kdev …`.
// Runs after `npm run build`; the .tgz is not committed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// staged outside the workspace (so no linter or build sees it), removed once packed
const STAGING = mkdtempSync(join(tmpdir(), 'kdev-package-'));
const STAGE = join(STAGING, 'kdev');
const NATIVE = ['bufferutil', 'node-gyp-build'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function need(path, what) {
  if (!existsSync(path)) throw new Error(`${what} is missing (${path}): run \`npm run build\` first`);
}

// The bundle starts here (after the entry's #! line): node's require for the CommonJS parts, and kdev's own templates
// after any folders the user lists in $KDEV_TEMPLATES (core's documented search path).
const BANNER = [
  "import { createRequire as __kdevRequire } from 'node:module';",
  "import { fileURLToPath as __kdevPath } from 'node:url';",
  'const require = __kdevRequire(import.meta.url);',
  "process.env.KDEV_TEMPLATES = [process.env.KDEV_TEMPLATES, __kdevPath(new URL('../templates', import.meta.url))].filter(Boolean).join(':');",
].join('\n');

// ink imports react-devtools-core only when DEV=true (React's devtools, for ink's own
// development); the package has no use for it, so it is an empty stand-in.
const noDevtools = {
  name: 'no-react-devtools',
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'kdev-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'kdev-stub' }, () => ({ contents: 'export default { initialize() {}, connectToDevTools() {} };', loader: 'js' }));
  },
};

async function bundle() {
  need(join(ROOT, 'cli', 'dist', 'main.js'), 'the built CLI');
  await esbuild.build({
    entryPoints: [join(ROOT, 'cli', 'dist', 'main.js')],
    outfile: join(STAGE, 'dist', 'kdev.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    // optional native addons ws loads when present (bufferutil ships in node_modules/)
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [noDevtools],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    legalComments: 'none',
  });
}

function copyTemplates() {
  const from = join(ROOT, 'templates');
  for (const name of readdirSync(from)) {
    if (!existsSync(join(from, name, 'template.yaml'))) continue;
    cpSync(join(from, name), join(STAGE, 'templates', name), { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
  }
}

function copyBundled() {
  const sidecar = join(ROOT, 'sync-sidecar', 'dist', 'server.bundle.cjs');
  need(sidecar, 'the sync sidecar bundle');
  const version = readJson(join(ROOT, 'sync-sidecar', 'package.json')).version;
  const dir = join(STAGE, 'node_modules', '@kdev', 'sync-sidecar');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(sidecar, join(dir, 'dist', 'server.bundle.cjs'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: '@kdev/sync-sidecar', version, exports: { './server.bundle.cjs': './dist/server.bundle.cjs' } }, null, 2)}\n`);
  for (const name of NATIVE) cpSync(join(ROOT, 'node_modules', name), join(STAGE, 'node_modules', name), { recursive: true });
  return { '@kdev/sync-sidecar': version, ...Object.fromEntries(NATIVE.map((n) => [n, readJson(join(ROOT, 'node_modules', n, 'package.json')).version])) };
}

function manifest(bundled) {
  const cli = readJson(join(ROOT, 'cli', 'package.json'));
  return {
    name: 'kdev',
    version: cli.version,
    description: readJson(join(ROOT, 'package.json')).description,
    type: 'module',
    engines: { node: '>=20' },
    bin: { kdev: 'dist/kdev.mjs', 'kubectl-kdev': 'dist/kdev.mjs', 'kubectl_complete-kdev': 'dist/kdev.mjs' },
    files: ['dist', 'templates'],
    dependencies: bundled,
    bundleDependencies: Object.keys(bundled),
  };
}

async function main() {
  mkdirSync(STAGE, { recursive: true });
  await bundle();
  copyTemplates();
  const pkg = manifest(copyBundled());
  writeFileSync(join(STAGE, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const file = `kdev-${pkg.version}.tgz`;
  execFileSync('npm', ['pack', '--silent', '--pack-destination', STAGING], { cwd: STAGE, stdio: ['ignore', 'ignore', 'inherit'] });
  cpSync(join(STAGING, file), join(ROOT, file));
  process.stdout.write(`${file}\n  install: npm install -g ./${file}\n`);
}

main()
  .catch((err) => {
    process.stderr.write(`✗ npm run package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(STAGING, { recursive: true, force: true }));
