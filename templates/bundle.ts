// Bundles each service of a template (src/<service>/main.ts and what it imports) into one
// self-contained file, services/<service>/main.mjs, which kdev delivers into the pod in a
// ConfigMap and runs on kdev.local/node:18. The bundles are generated, never committed
// (.gitignore): `npm run build` writes them, and a unit test checks that they match their
// source.
//   npm run -w templates bundle                 every service of every template
//   npm run -w templates bundle -- --watch users   rebuild one service on each save (dev mode)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONFIGMAP_LIMIT = 900 * 1024;

export interface ServiceBundle {
  template: string;
  service: string;
  entry: string;
  out: string;
}

/** Every service with a src/<name>/main.ts, across templates. */
export function services(root = TEMPLATES_DIR): ServiceBundle[] {
  const out: ServiceBundle[] = [];
  for (const template of readdirSync(root)) {
    const src = join(root, template, 'src');
    if (!existsSync(src)) continue;
    for (const service of readdirSync(src).sort()) {
      const entry = join(src, service, 'main.ts');
      if (existsSync(entry)) out.push({ template, service, entry, out: join(root, template, 'services', service, 'main.mjs') });
    }
  }
  return out;
}

function options(b: ServiceBundle): esbuild.BuildOptions {
  return {
    entryPoints: [b.entry],
    // the repository root, whatever the current folder: esbuild names each source in a
    // comment relative to it, and the bundle must not depend on where it was built
    absWorkingDir: join(TEMPLATES_DIR, '..'),
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm',
    charset: 'utf8',
    legalComments: 'none',
    banner: { js: `// GENERATED from templates/${b.template}/src/${b.service} by \`npm run -w templates bundle\`; edit the TypeScript source.` },
    logLevel: 'silent',
  };
}

/** The bundle's text, built in memory. */
export async function build(b: ServiceBundle): Promise<string> {
  const r = await esbuild.build({ ...options(b), write: false, outfile: b.out });
  return r.outputFiles[0]!.text;
}

/**
 * Builds the bundle, then rebuilds it on every change of its sources until close(): how a
 * developer works on a service in dev mode (the built file is in the synced folder; the
 * supervisor restarts the service when it arrives). Resolves after the first build.
 */
export async function watchBundle(b: ServiceBundle, opts: { onBuilt?: (errors: number) => void } = {}): Promise<{ close(): Promise<void> }> {
  const plugin: esbuild.Plugin = { name: 'on-built', setup: (build) => build.onEnd((r) => opts.onBuilt?.(r.errors.length)) };
  const ctx = await esbuild.context({ ...options(b), outfile: b.out, logLevel: 'warning', plugins: [plugin] });
  await ctx.rebuild();
  await ctx.watch();
  return { close: () => ctx.dispose() };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const watch = args.includes('--watch');
  const names = args.filter((a) => !a.startsWith('--'));
  const chosen = services().filter((b) => names.length === 0 || names.includes(b.service) || names.includes(b.template));
  if (chosen.length === 0) throw new Error(`no service matches ${names.join(' ')}`);
  for (const b of chosen) {
    mkdirSync(dirname(b.out), { recursive: true });
    if (watch) {
      await watchBundle(b, { onBuilt: (errors) => console.log(`${b.template}/${b.service}: ${errors === 0 ? 'built' : `${errors} error(s)`}`) });
      continue;
    }
    const text = await build(b);
    if (Buffer.byteLength(text) > CONFIGMAP_LIMIT) throw new Error(`${b.template}/${b.service}: bundle is ${Buffer.byteLength(text)} bytes, over the ConfigMap budget`);
    const old = existsSync(b.out) ? readFileSync(b.out, 'utf8') : '';
    if (old !== text) writeFileSync(b.out, text);
    // quiet when nothing changed and nothing was asked for by name (every `npm run build`)
    if (old !== text || names.length > 0) console.log(`${b.template}/${b.service}: ${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB${old === text ? ' (unchanged)' : ''}`);
  }
  if (watch) console.log('watching; Ctrl-C to stop');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
