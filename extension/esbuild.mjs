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

// core reads code it delivers into pods in ConfigMaps from workspace packages: the sync
// sidecar's (@kdev/sync-sidecar) and the router's (@kdev/router). The bundle reads each from
// out/<folder>/, copied there below. Each lookup is replaced where core makes it; a core
// that no longer contains it fails the build rather than a routed start at run time.
const POD_CODE = [
  { module: /core[\\/]dist[\\/]sync[\\/]sidecar\.js$/, pkg: '@kdev/sync-sidecar', file: 'server.bundle.cjs', folder: 'sync-sidecar', from: join(HERE, '..', 'sync-sidecar', 'dist') },
  { module: /core[\\/]dist[\\/]route[\\/]objects\.js$/, pkg: '@kdev/router', file: 'router.bundle.cjs', folder: 'router', from: join(HERE, '..', 'router', 'dist') },
];
const podCode = {
  name: 'pod-code',
  setup(b) {
    for (const c of POD_CODE) {
      const lookup = `createRequire(import.meta.url).resolve('${c.pkg}/${c.file}')`;
      b.onLoad({ filter: c.module }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes(lookup)) throw new Error(`${args.path} no longer contains ${lookup}: update extension/esbuild.mjs`);
        return { contents: text.replace(lookup, `require("node:path").join(__dirname, "${c.folder}", "${c.file}")`), loader: 'js' };
      });
    }
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
  plugins: [directHttp, podCode],
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

// The sidecar's and the router's code (see podCode above).
for (const c of POD_CODE) {
  mkdirSync(join(HERE, 'out', c.folder), { recursive: true });
  copyFileSync(join(c.from, c.file), join(HERE, 'out', c.folder, c.file));
}
