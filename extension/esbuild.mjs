// Bundles the extension (core and client-node included) and its test suite into out/ as
// CommonJS for VS Code's Node extension host. Type checking is tsc's (npm run build).
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Routes the bundle's http/https to src/direct/ (why: see src/direct/https.cjs). */
const directHttp = {
  name: 'direct-http',
  setup(b) {
    b.onResolve({ filter: /^(node:)?https?$/ }, (args) => {
      if (args.importer.includes('/src/direct/')) return { path: args.path, external: true };
      const mod = args.path.replace(/^node:/, '');
      return { path: join(HERE, 'src', 'direct', `${mod}.cjs`) };
    });
  },
};

// core finds its bundled templates at <core/dist/env>/../../../templates (import.meta.url).
// In this CommonJS bundle import.meta is empty, so it is defined as a URL under out/ whose
// ../../.. is out/: the templates are copied to out/templates below.
const importMetaUrl = {
  define: { 'import.meta.url': '__kdevImportMetaUrl' },
  banner: { js: 'var __kdevImportMetaUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "core", "env", "x", "template.js")).href;' },
};

// core reads the sync sidecar's code (delivered into pods in a ConfigMap) from the package
// @kdev/sync-sidecar; the bundle reads it from out/sync-sidecar/, copied there below.
const SIDECAR_LOOKUP = "createRequire(import.meta.url).resolve('@kdev/sync-sidecar/server.bundle.cjs')";
const sidecarCode = {
  name: 'sidecar-code',
  setup(b) {
    b.onLoad({ filter: /core[\\/]dist[\\/]sync[\\/]sidecar\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(SIDECAR_LOOKUP)) throw new Error(`${args.path} no longer contains ${SIDECAR_LOOKUP}: update extension/esbuild.mjs`);
      return { contents: text.replace(SIDECAR_LOOKUP, 'require("node:path").join(__dirname, "sync-sidecar", "server.bundle.cjs")'), loader: 'js' };
    });
  },
};

const common = {
  ...importMetaUrl,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // ws masks every frame it sends (100 MB synced = 100 MB masked): with bufferutil's N-API
  // build that is native code instead of a JavaScript loop. It is loaded from out/node_modules
  // (copied below); should it fail to load, ws falls back to its JavaScript mask.
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
  plugins: [directHttp, sidecarCode],
};

await build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'out/extension.js', minify: true });
await build({ ...common, entryPoints: ['src/test/suite/index.ts'], outfile: 'out/test/suite/index.js', external: [...common.external, 'mocha'] });

// bufferutil (prebuilt N-API binaries for each platform, ABI-stable, so they load in VS
// Code's Electron too) and the loader it uses.
const require = createRequire(import.meta.url);
for (const pkg of ['bufferutil', 'node-gyp-build']) {
  const from = dirname(require.resolve(`${pkg}/package.json`));
  const to = join(HERE, 'out', 'node_modules', pkg);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true, filter: (src) => !/[\\/](src|binding\.gyp)$/.test(src) });
}

// The environment templates (every folder of ../templates with a template.yaml).
const templates = join(HERE, '..', 'templates');
const outTemplates = join(HERE, 'out', 'templates');
rmSync(outTemplates, { recursive: true, force: true });
for (const name of readdirSync(templates)) {
  if (!existsSync(join(templates, name, 'template.yaml'))) continue;
  // dereference: a chart reaches the template's services and manifests through links
  // (chart/files/…), and a .vsix holds no links
  cpSync(join(templates, name), join(outTemplates, name), { recursive: true, dereference: true, filter: (src) => !src.includes('node_modules') });
}

// The sync sidecar's code (see sidecarCode above).
const sidecarBundle = join(HERE, '..', 'sync-sidecar', 'dist', 'server.bundle.cjs');
mkdirSync(join(HERE, 'out', 'sync-sidecar'), { recursive: true });
copyFileSync(sidecarBundle, join(HERE, 'out', 'sync-sidecar', 'server.bundle.cjs'));
