// `npm run demo`: the whole loop on a real cluster.
//   1. the local cluster up, unless KUBECONFIG (or KDEV_TEST_KUBECONFIG) names another one;
//   2. a `meeting` environment (its mesh, scheduler and quality stack) created and Ready;
//   3. dev mode on its gateway: a copy of the meeting services' TypeScript source, built on
//      every save (esbuild, watch mode) into a local folder that is synced into the dev
//      container, where the supervisor runs the service;
//   4. an edit of the TypeScript source, rebuilt, synced, the process restarted, and the new
//      page served through the gateway — timed;
//   5. what to try next. Everything stays up for you to explore.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchBundle } from '@kdev/templates/bundle.js';
import {
  connect,
  createEnvironment,
  execCapture,
  forwardPort,
  getEnvironment,
  isKdevError,
  startDevMode,
  syncSessionFor,
  type Cluster,
  type DevSession,
} from '@kdev/core/internals';
import { up } from './cluster/cluster.js';
import { StepError } from './cluster/steps.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV = process.env.KDEV_DEMO_ENV ?? 'demo';
/** The developer's sources (a copy of templates/meeting/src) and the built, synced folder. */
const SOURCES = join(ROOT, '.demo', 'src');
const LOCAL = join(ROOT, '.demo', 'gateway');
const say = (line = '') => console.log(line);

/** Whether `kdev` is already a command here (installed from the package). */
function kdevOnPath(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'kdev')));
}

function cliVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'cli', 'package.json'), 'utf8')) as { version: string }).version;
}

function fetchText(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .on('timeout', function (this: { destroy: () => void }) {
        this.destroy();
      });
  });
}

const title = (html: string) => /<h1 id="title">([^<]*)<\/h1>/.exec(html)?.[1];

/** Polls the forwarded gateway until its page title is `want` (the app restarts meanwhile). */
async function waitForTitle(port: number, want: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const got = await fetchText(port).then(title, () => undefined);
    if (got === want) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`the gateway still shows "${got}" instead of "${want}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ensureEnvironment(admin: Cluster): Promise<void> {
  const existing = await getEnvironment(admin, ENV).catch(() => undefined);
  if (existing) {
    say(`• environment ${ENV} exists (template ${existing.template}): reusing it`);
    return;
  }
  say(`• creating environment ${ENV} from the meeting template (11 workloads, in dependency order) …`);
  const t0 = performance.now();
  await createEnvironment(admin, {
    name: ENV,
    template: join(ROOT, 'templates', 'meeting'),
    ttl: '8h',
    onProgress: (e) => {
      if (e.type === 'workload' && (e.state === 'ready' || e.state === 'failed')) say(`    ${e.name.padEnd(16)} ${e.state}${e.message ? ` (${e.message})` : ''}`);
    },
  });
  say(`  ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  let kubeconfig = process.env.KDEV_TEST_KUBECONFIG ?? process.env.KUBECONFIG;
  if (!kubeconfig) {
    say('No cluster configured: starting the local cluster (the first run builds it; see README) …');
    kubeconfig = (await up((line) => say(`  ${line}`))).kubeconfig;
  }
  const admin = connect({ kubeconfig });
  say(`Cluster ${admin.server}\n`);
  await ensureEnvironment(admin);
  const cluster = admin.inNamespace(ENV);

  // The developer's sources: a copy of the meeting services' TypeScript, built into LOCAL on
  // every save, as `npm run -w templates bundle -- --watch gateway` does for the template.
  for (const dir of [SOURCES, LOCAL]) if (existsSync(dir)) rmSync(dir, { recursive: true });
  mkdirSync(LOCAL, { recursive: true });
  cpSync(join(ROOT, 'templates', 'meeting', 'src'), SOURCES, { recursive: true });
  const builder = await watchBundle({ template: 'meeting', service: 'gateway', entry: join(SOURCES, 'gateway', 'main.ts'), out: join(LOCAL, 'main.mjs') });
  say(`• building ${join(SOURCES, 'gateway')} into ${LOCAL} on every save`);

  say(`\n• kdev dev start deployment/gateway -n ${ENV} --local ${LOCAL}`);
  const t0 = performance.now();
  const session: DevSession = await startDevMode(cluster, {
    workload: 'deployment/gateway',
    image: 'kdev.local/dev-node:18',
    workDir: '/app',
    onEvent: (e) => e.type === 'phase' && say(`    ${e.phase.padEnd(12)} ${e.message}`),
  });
  const sync = syncSessionFor(cluster, session, { localRoot: LOCAL, sync: { mode: 'send-only', ignore: [], deleteLocal: false } });
  await sync.start();
  say(`  dev container ready and ${sync.status().syncedFiles} file(s) synced in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Remote run: the supervisor (PID 1 of the dev container) runs the service and restarts
  // it after every applied sync batch.
  const run = await execCapture(cluster, session.pod, session.container, ['sh', '/kdev/bin/supervisor.sh', 'ctl', 'start', 'node main.mjs']);
  if (run.exitCode !== 0) throw new Error(`could not start the service: ${run.stderr}`);
  const fwd = await forwardPort(cluster, session.pod, 8080);
  const before = await waitForTitle(fwd.localPort, 'kdev meeting', 30_000).then(() => 'kdev meeting');
  say(`  the gateway answers through a port-forward: http://127.0.0.1:${fwd.localPort}/ → "${before}"`);

  const edited = `kdev meeting — edited at ${new Date().toISOString().slice(11, 19)}`;
  const file = join(SOURCES, 'gateway', 'page.ts');
  say(`\n• editing ${file}: GREETING = "${edited}"`);
  const t1 = performance.now();
  const source = readFileSync(file, 'utf8');
  const changed = source.replace("export const GREETING = 'kdev meeting';", `export const GREETING = ${JSON.stringify(edited)};`);
  if (changed === source) throw new Error(`${file} no longer declares GREETING as the demo expects`);
  // saved the way editors save (a new file renamed over the old): the build never reads half a file
  writeFileSync(`${file}.tmp`, changed);
  renameSync(`${file}.tmp`, file);
  // The forward points at the pod, which stays: only the process restarts.
  await waitForTitle(fwd.localPort, edited, 30_000);
  say(`  rebuilt, synced, restarted and served in ${Math.round(performance.now() - t1)} ms: the gateway now shows "${edited}"`);

  await sync.stop();
  await builder.close();
  await fwd.close();
  say(`
What to try next — the environment and dev mode stay up:
${kdevOnPath() ? '' : `  npm run package && npm install -g ./kdev-${cliVersion()}.tgz   kdev as a command (once; also \`kubectl kdev\`)\n`}  export KUBECONFIG=${kubeconfig}
  source <(kdev completion bash)                       tab completion: commands, flags, workload names
  kdev ls -n ${ENV}                                    its workloads; the gateway is in dev mode
  npm run -w templates bundle -- --watch gateway     rebuild templates/meeting/src/gateway on save
  kdev dev start deployment/gateway -n ${ENV}          attach again (syncs the built services/gateway),
                                                     then edit templates/meeting/src/gateway/*.ts
  kdev env show ${ENV}                                 services and endpoints
  kdev dev end deployment/gateway -n ${ENV}            restore the gateway exactly
  kdev env delete ${ENV}                               remove the whole environment`);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    if (err instanceof StepError) console.error(`✗ the local cluster failed at step "${err.step}": ${err.message}\n  log: ${err.logPath}`);
    else if (isKdevError(err)) console.error(`✗ ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}`);
    else console.error(err);
    process.exit(1);
  });
