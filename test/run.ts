// `npm test`: unit tests, then end-to-end tests on a real cluster, in one node:test run.
// The cluster is $KDEV_TEST_KUBECONFIG's when set; otherwise the local cluster, which is
// started here if it is down (the first start on a fresh machine builds it: see README).
//   npm test                 everything
//   npm test -- unit         only test/unit (no cluster needed)
//   npm test -- e2e/smoke    one folder or file prefix under test/
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { up } from './cluster/cluster.js';
import { buildRenderTools } from './cluster/build.js';
import { CACHE_DIR } from './cluster/config.js';
import { StepError } from './cluster/steps.js';

const DIST = dirname(fileURLToPath(import.meta.url));

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = [...testFiles(join(DIST, 'unit')), ...testFiles(join(DIST, 'e2e'))].filter(
    (f) => filters.length === 0 || filters.some((p) => relative(DIST, f).startsWith(p)),
  );
  if (files.length === 0) {
    console.error(`no test files match ${filters.join(' ')}`);
    return 1;
  }
  const needsCluster = files.some((f) => relative(DIST, f).startsWith('e2e'));
  const env = { ...process.env };
  if (needsCluster && !env.KDEV_TEST_KUBECONFIG) {
    console.log('e2e tests: using the local cluster (set KDEV_TEST_KUBECONFIG to use another)');
    try {
      const result = await up((line) => console.log(`  ${line}`));
      env.KDEV_TEST_KUBECONFIG = result.kubeconfig;
    } catch (err) {
      if (err instanceof StepError) console.error(`local cluster failed at step "${err.step}": ${err.message}\n  log: ${err.logPath}`);
      else console.error(err);
      return 1;
    }
  }
  if (needsCluster) {
    // Environments render charts and overlays with the helm and kustomize on PATH:
    // the tests use the versions built from test/cluster/go (once; cached).
    const dirs = await renderTools();
    if (!dirs) return 1;
    env.PATH = [...dirs, env.PATH ?? ''].join(delimiter);
  }
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function renderTools(): Promise<string[] | undefined> {
  const log = join(CACHE_DIR, 'logs', 'render-tools.log');
  mkdirSync(dirname(log), { recursive: true });
  try {
    return await buildRenderTools(log);
  } catch (err) {
    console.error(`building helm/kustomize failed: ${err instanceof Error ? err.message : String(err)}\n  log: ${log}`);
    return undefined;
  }
}

main().then((code) => process.exit(code));
