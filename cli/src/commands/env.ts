// kdev env create | list | delete | sleep | wake | gc | kubeconfig: isolated environments
// from templates. The work is core's; this renders it (ink progress, tables, JSON).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  createEnvironment,
  deleteEnvironment,
  environmentEndpoints,
  environmentKubeconfig,
  gcEnvironments,
  getEnvironment,
  listEnvironments,
  listTemplates,
  loadTemplate,
  parseNumberFlag,
  parseSets,
  planEnvironment,
  resolveOwner,
  sleepEnvironment,
  TOKEN_SECONDS,
  validateEnvName,
  wakeEnvironment,
  type EnvironmentInfo,
  type EnvProgress,
} from '@kdev/core';
import { clusterFor, printJson, wantsJson } from '../context.js';
import { progressRenderer } from '../ui/env-progress.js';

/** Where environment kubeconfigs go: $KDEV_ENV_DIR, else ~/.cache/kdev/envs. */
export function envDir(): string {
  return process.env.KDEV_ENV_DIR ? resolve(process.env.KDEV_ENV_DIR) : join(homedir(), '.cache', 'kdev', 'envs');
}

function writeKubeconfig(path: string, text: string): string {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, text, { mode: 0o600 });
  chmodSync(abs, 0o600);
  return abs;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function ago(d: Date, now = Date.now()): string {
  const s = Math.round((now - d.getTime()) / 1000);
  return duration(Math.abs(s)) + (s < 0 ? ' from now' : '');
}

function duration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function expiresText(e: EnvironmentInfo, now = Date.now()): string {
  if (!e.expires) return 'never';
  const s = Math.round((e.expires.getTime() - now) / 1000);
  return s <= 0 ? `expired ${duration(-s)} ago` : `in ${duration(s)}`;
}

function infoJson(e: EnvironmentInfo) {
  return { ...e, created: e.created.toISOString(), expires: e.expires?.toISOString() ?? null };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ')).join('\n') + '\n';
}

/** Ctrl-C while creating: abort (core rolls back); a second Ctrl-C exits at once. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let count = 0;
  const onSigint = () => {
    count += 1;
    if (count === 1) {
      process.stderr.write('\ninterrupted: rolling back (Ctrl-C again to leave it as it is)\n');
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

interface CreateFlags {
  template: string;
  ttl?: string;
  set: string[];
  wait?: boolean;
  dryRun?: boolean;
  kubeconfigOut?: string;
  owner?: string;
}

export function registerEnv(program: Command): void {
  const env = program.command('env').description('isolated environments from templates: a namespace per developer or CI run');

  env
    .command('create')
    .description('create an environment from a template')
    .argument('<name>', 'environment (and namespace) name, e.g. pr-123')
    .requiredOption('-t, --template <name|dir>', 'a template name (kdev env templates) or folder')
    .option('--ttl <duration>', "lifetime, e.g. 30m, 2h, 1d; 0 = never (default: the template's)")
    .option('--set <key=value>', 'a template parameter, or quota.<resource> / limits.<default|defaultRequest|max|min>.<cpu|memory> (repeatable)', collect, [])
    .option('--wait', 'start workloads in dependency order and wait until every one is Ready')
    .option('--dry-run', 'validate and print what would be applied; change nothing')
    .option('--kubeconfig-out <file>', "where to write the environment's kubeconfig (default: $KDEV_ENV_DIR or ~/.cache/kdev/envs/<name>.kubeconfig)")
    .option('--owner <user>', 'owner recorded on the environment (default: $KDEV_OWNER, else your cluster user)')
    .action(async (name: string, flags: CreateFlags, cmd: Command) => {
      const json = wantsJson(cmd);
      const set = parseSets(flags.set);
      validateEnvName(name);
      if (flags.dryRun) {
        const plan = planEnvironment({ name, template: flags.template, set });
        const summary = {
          name,
          template: plan.template.spec.name,
          templateDir: plan.template.dir,
          parameters: plan.params,
          quota: plan.quota,
          limits: plan.limits,
          waves: plan.waves,
          objects: [...plan.objects, ...plan.workloads.flatMap((w) => (w.source ? [w.source] : [])), ...plan.workloads.map((w) => w.object)].map((o) => `${o.kind}/${o.metadata?.name}`),
        };
        if (json) printJson({ ...summary, manifests: [...plan.objects, ...plan.workloads.map((w) => w.object)] });
        else {
          process.stdout.write(`template ${summary.template} (${summary.templateDir}) is valid for environment ${name}\n`);
          process.stdout.write(`start order: ${plan.waves.map((w) => w.join(' + ')).join(' → ')}\n`);
          process.stdout.write(`objects: ${summary.objects.join(', ')}\n`);
        }
        return;
      }
      const cluster = clusterFor(cmd);
      const renderer = flags.wait ? progressRenderer() : undefined;
      const quiet = (e: EnvProgress) => {
        if (!json && e.type === 'step' && e.state !== 'start') process.stderr.write(`  ${e.step} ${e.state}${e.detail ? `: ${e.detail}` : ''}\n`);
      };
      const stop = interruptible();
      let created;
      try {
        created = await createEnvironment(cluster, {
          name,
          template: flags.template,
          ttl: flags.ttl,
          set,
          owner: flags.owner,
          wait: flags.wait ?? false,
          onProgress: renderer?.onEvent ?? quiet,
          signal: stop.signal,
        });
      } finally {
        stop.dispose();
        await renderer?.done();
      }
      const path = writeKubeconfig(flags.kubeconfigOut ?? join(envDir(), `${name}.kubeconfig`), created.kubeconfig);
      if (json) {
        printJson({
          name,
          namespace: created.info.namespace,
          owner: created.info.owner,
          template: created.info.template,
          expires: created.info.expires?.toISOString() ?? null,
          ready: flags.wait === true,
          kubeconfig: path,
          kubeconfigExpires: created.kubeconfigExpires.toISOString(),
          endpoints: created.endpoints,
          durationMs: created.durationMs,
        });
        return;
      }
      const out = process.stdout;
      out.write(`✓ environment ${name} ${flags.wait ? 'ready' : 'created'} in ${(created.durationMs / 1000).toFixed(1)} s (template ${created.info.template}, owner ${created.info.owner}, expires ${created.info.expires ? created.info.expires.toISOString() : 'never'})\n`);
      out.write(`  kubeconfig: ${path}\n`);
      for (const e of created.endpoints) out.write(`  ${e.service.padEnd(16)} ${e.ports.map((p) => p.address).join(', ')}\n`);
      out.write(`  use it: KUBECONFIG=${path} kubectl get pods\n`);
    });

  env
    .command('list')
    .alias('ls')
    .description('list environments')
    .option('--mine', 'only environments you own')
    .action(async (flags: { mine?: boolean }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const owner = flags.mine ? await resolveOwner(cluster) : undefined;
      const envs = await listEnvironments(cluster, { owner });
      if (wantsJson(cmd)) {
        printJson(envs.map(infoJson));
        return;
      }
      if (envs.length === 0) {
        process.stdout.write('no environments\n');
        return;
      }
      const now = Date.now();
      process.stdout.write(
        table([
          ['NAME', 'OWNER', 'TEMPLATE', 'STATE', 'AGE', 'EXPIRES'],
          ...envs.map((e) => [e.name, e.owner, e.template, e.state, ago(e.created, now), expiresText(e, now)]),
        ]),
      );
    });

  env
    .command('show')
    .description("an environment's details and endpoints")
    .argument('<name>')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const info = await getEnvironment(cluster, name);
      const endpoints = await environmentEndpoints(cluster, name);
      if (wantsJson(cmd)) {
        printJson({ ...infoJson(info), endpoints });
        return;
      }
      process.stdout.write(`${info.name}: template ${info.template}, owner ${info.owner}, ${info.state}, expires ${expiresText(info)}\n`);
      process.stdout.write(`  workloads: ${info.workloads.map((w) => w.name).join(', ')}\n`);
      for (const e of endpoints) process.stdout.write(`  ${e.service.padEnd(16)} ${e.ports.map((p) => p.address).join(', ')}\n`);
    });

  env
    .command('delete')
    .alias('rm')
    .description('delete an environment and everything in it')
    .argument('<name>')
    .addOption(new Option('--no-wait', 'return without waiting until the namespace is gone'))
    .action(async (name: string, flags: { wait: boolean }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const info = await deleteEnvironment(cluster, name, { wait: flags.wait });
      if (wantsJson(cmd)) printJson({ deleted: name, owner: info.owner, waited: flags.wait });
      else process.stdout.write(`✓ environment ${name} ${flags.wait ? 'deleted' : 'is being deleted'}\n`);
    });

  env
    .command('sleep')
    .description('scale every workload to zero and suspend CronJobs; wake restores them')
    .argument('<name>')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const result = await sleepEnvironment(clusterFor(cmd), name);
      if (wantsJson(cmd)) printJson({ name, state: 'sleeping', ...result });
      else {
        process.stdout.write(result.changed.length > 0 ? `✓ environment ${name} is asleep\n` : `environment ${name} was already asleep\n`);
        for (const c of result.changed) process.stdout.write(`  ${c}\n`);
      }
    });

  env
    .command('wake')
    .description('restore what sleep scaled down, in dependency order')
    .argument('<name>')
    .addOption(new Option('--no-wait', 'do not wait for the workloads to be Ready'))
    .action(async (name: string, flags: { wait: boolean }, cmd: Command) => {
      const json = wantsJson(cmd);
      const renderer = flags.wait && !json ? progressRenderer() : undefined;
      let result;
      try {
        result = await wakeEnvironment(clusterFor(cmd), name, { wait: flags.wait, onProgress: renderer?.onEvent });
      } finally {
        await renderer?.done();
      }
      if (json) printJson({ name, state: 'ready', ...result });
      else {
        process.stdout.write(result.changed.length > 0 ? `✓ environment ${name} is awake\n` : `environment ${name} was already awake\n`);
        for (const c of result.changed) process.stdout.write(`  ${c}\n`);
      }
    });

  env
    .command('gc')
    .description('delete your expired environments (safe from a CronJob or a CI schedule)')
    .option('--all', "everyone's expired environments, not only yours")
    .option('--dry-run', 'only show what would be deleted')
    .option('--wait', 'wait until the namespaces are gone')
    .action(async (flags: { all?: boolean; dryRun?: boolean; wait?: boolean }, cmd: Command) => {
      const result = await gcEnvironments(clusterFor(cmd), { all: flags.all, dryRun: flags.dryRun, wait: flags.wait });
      if (wantsJson(cmd)) {
        printJson({ dryRun: flags.dryRun === true, scope: result.scope, deleted: result.deleted.map((e) => e.name), kept: result.kept.map((e) => e.name) });
        return;
      }
      const whose = result.scope.all ? 'environments' : `environments of ${result.scope.owner}`;
      if (result.deleted.length === 0) process.stdout.write(`nothing to collect (${result.kept.length} ${whose} unexpired)\n`);
      for (const e of result.deleted) process.stdout.write(`${flags.dryRun ? 'would delete' : '✓ deleted'} ${e.name} (owner ${e.owner}, ${expiresText(e)})\n`);
    });

  env
    .command('kubeconfig')
    .description("a kubeconfig for the environment's ServiceAccount (token from the TokenRequest API)")
    .argument('<name>')
    .option('--out <file>', 'write it to a file (mode 600) instead of stdout')
    .option('--duration <seconds>', 'token lifetime in seconds (default: until the environment expires, at most 24 h; minimum 600)', (v) => parseNumberFlag('--duration', v, TOKEN_SECONDS))
    .action(async (name: string, flags: { out?: string; duration?: number }, cmd: Command) => {
      const { kubeconfig, expires } = await environmentKubeconfig(clusterFor(cmd), name, { seconds: flags.duration });
      const path = flags.out ? writeKubeconfig(flags.out, kubeconfig) : undefined;
      if (wantsJson(cmd)) printJson({ name, kubeconfig: path ?? kubeconfig, expires: expires.toISOString() });
      else if (path) process.stdout.write(`${path}\n`);
      else process.stdout.write(kubeconfig);
    });

  env
    .command('templates')
    .description('list the templates kdev finds ($KDEV_TEMPLATES, then its own)')
    .action((_flags: unknown, cmd: Command) => {
      const all = listTemplates().map((t) => {
        try {
          const l = loadTemplate(t.dir);
          return { name: t.name, dir: t.dir, description: l.spec.description, workloads: l.spec.workloads.length };
        } catch (err) {
          return { name: t.name, dir: t.dir, error: (err as Error).message };
        }
      });
      if (wantsJson(cmd)) printJson(all);
      else for (const t of all) process.stdout.write(`${t.name.padEnd(12)} ${'error' in t ? `invalid: ${t.error}` : `${t.workloads} workloads  ${t.description}`}\n`);
    });
}
