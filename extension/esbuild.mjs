// Bundles the extension (core and client-node included) and its test suite into out/ as
// CommonJS for VS Code's Node extension host. Type checking is tsc's (npm run build).
import { build } from 'esbuild';
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

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  external: ['vscode'],
  plugins: [directHttp],
};

await build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'out/extension.js', minify: true });
await build({ ...common, entryPoints: ['src/test/suite/index.ts'], outfile: 'out/test/suite/index.js', external: ['vscode', 'mocha'] });
