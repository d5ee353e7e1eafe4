// kdev env create | render | list | delete | sleep | wake | gc | kubeconfig: isolated
// environments from templates, charts and overlays. The work is core's; this renders it
// (ink progress, tables, JSON).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Argument, Command, Option } from 'commander';
import {
  createEnvironment,
  deleteEnvironment,
  describeNetwork,
  describeTemplate,
  environmentEndpoints,
  environmentKubeconfig,
  gcEnvironments,
  getEnvironment,
  listEnvironments,
  listTemplates,
  loadTemplate,
  parseDuration,
  parseNumberFlag,
  parseSets,
  planEnvironment,
  renderEnvironment,
  resolveOwner,
  sleepEnvironment,
  sleepIdleEnvironments,
  templateFrom,
  useEnvironment,
  TOKEN_SECONDS,
  validateEnvName,
  wakeEnvironment,
  duration,
  since,
  table,
  withDevActivity,
  yamlStream,
  KdevError,
  type EnvironmentInfo,
  type EnvProgress,
  type TemplateSummary,
} from '@kdev/core';
import { clusterFor, printJson, wantsJson } from '../context.js';
import { progressRenderer } from '../ui/env-progress.js';
import { completesWith } from '../completion/complete.js';

/** An existing environment's name (completed from the cluster). */
function envArg(): Argument {
  return completesWith(new Argument('<name>', 'the environment'), 'environment');
}

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

function expiresText(e: EnvironmentInfo, now = Date.now()): string {
  if (!e.expires) return 'never';
  const s = Math.round((e.expires.getTime() - now) / 1000);
  return s <= 0 ? `expired ${duration(-s)} ago` : `in ${duration(s)}`;
}

function infoJson(e: EnvironmentInfo) {
  return { ...e, created: e.created.toISOString(), expires: e.expires?.toISOString() ?? null, lastActivity: e.lastActivity.toISOString() };
}

/** A template's parameters as `--help-template` prints them. */
function templateHelp(t: TemplateSummary): string {
  const lines = [`${t.name}: ${t.description}`, `  from: ${t.dir} (${t.payloads.join(', ')})`];
  const params = Object.entries(t.parameters);
  lines.push(params.length > 0 ? '  parameters (--set name=value):' : '  no parameters');
  for (const [name, p] of params) {
    const rules = [p.enum ? `one of ${(p.enum as unknown[]).join(' | ')}` : '', p.minimum !== undefined ? `>= ${String(p.minimum)}` : '', p.maximum !== undefined ? `<= ${String(p.maximum)}` : '', p.pattern ? `matches ${String(p.pattern)}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`    ${name.padEnd(16)} ${String(p.type).padEnd(8)} default ${JSON.stringify(p.default)}${rules ? `; ${rules}` : ''}${p.description ? `  ${String(p.description)}` : ''}`);
  }
  lines.push('  also: quota.<resource>=<quantity>, limits.<default|defaultRequest|max|min>.<cpu|memory>=<quantity>');
  return `${lines.join('\n')}\n`;
}

function idleText(e: EnvironmentInfo, now = Date.now()): string {
  return duration(Math.max(0, Math.round((now - e.lastActivity.getTime()) / 1000)));
}

/**
 * Ctrl-C while creating: abort. Core rolls back a create that is not complete yet, and
 * keeps one that is (the outcome is printed when create returns). A second Ctrl-C exits
 * at once, leaving whatever exists.
 */
function interruptible(name: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let count = 0;
  const onSigint = () => {
    count += 1;
    if (count === 1) {
      process.stderr.write('\ninterrupted: stopping the create (Ctrl-C again to leave it as it is)\n');
      controller.abort();
    } else {
      process.stderr.write(`left as it is: \`kdev env delete ${name}\` removes whatever was created\n`);
      process.exit(130);
    }
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
  template?: string;
  chart?: string;
  kustomize?: string;
  helpTemplate?: string;
  ttl?: string;
  set: string[];
  wait?: boolean;
  dryRun?: boolean;
  kubeconfigOut?: string;
  owner?: string;
  isolationCheck: boolean;
}

/** On stderr, once: isolation not enforced, and an interrupt that came after the environment was complete. */
function printCreateNotes(name: string, created: { isolation?: { enforced: boolean | undefined; detail: string }; interrupted: boolean }): void {
  if (created.isolation?.enforced === false) {
    process.stderr.write(`! NetworkPolicy is not enforced on this cluster (${created.isolation.detail}): the environment's isolation is declared, not enforced\n`);
  }
  if (created.interrupted) {
    process.stderr.write(`interrupted after environment ${name} was complete: it was created and is kept; delete it with \`kdev env delete ${name}\`\n`);
  }
}

/** A sleeping environment wakes when it is used; its progress goes to stderr. */
export async function wakeOnUse(cluster: ReturnType<typeof clusterFor>, name: string, json: boolean): Promise<void> {
  const renderer = json ? undefined : progressRenderer();
  try {
    const r = await useEnvironment(cluster, name, { onProgress: renderer?.onEvent });
    if (r.woke && !json) process.stderr.write(`✓ environment ${name} was asleep and is awake again\n`);
  } finally {
    await renderer?.done();
  }
}

export function registerEnv(program: Command): void {
  const env = program.command('env').description('isolated environments from templates: a namespace per developer or CI run');

  env
    .command('create')
    .description('create an environment from a template')
    .argument('[name]', 'environment (and namespace) name, e.g. pr-123')
    .option('-t, --template <name|dir>', 'a template name (kdev env templates) or folder')
    .option('--chart <dir|tgz>', 'a Helm chart instead of a template (rendered with `helm template`; --set goes to helm)')
    .option('--kustomize <dir>', 'a Kustomize folder instead of a template (rendered with `kustomize build`)')
    .option('--help-template <name|dir>', "show a template's parameters (types, defaults, allowed values) and exit")
    .option('--ttl <duration>', "lifetime, e.g. 30m, 2h, 1d; 0 = never (default: the template's)")
    .option('--set <key=value>', 'a template parameter, or quota.<resource> / limits.<default|defaultRequest|max|min>.<cpu|memory> (repeatable)', collect, [])
    .option('--wait', 'start workloads in dependency order and wait until every one is Ready')
    .option('--dry-run', 'validate and print what would be applied; change nothing')
    .option('--kubeconfig-out <file>', "where to write the environment's kubeconfig (default: $KDEV_ENV_DIR or ~/.cache/kdev/envs/<name>.kubeconfig)")
    .option('--owner <user>', 'owner recorded on the environment (default: $KDEV_OWNER, else your cluster user)')
    .addOption(new Option('--no-isolation-check', 'skip the probe pod pair that checks the cluster enforces NetworkPolicy'))
    .action(async (name: string | undefined, flags: CreateFlags, cmd: Command) => {
      const json = wantsJson(cmd);
      if (flags.helpTemplate !== undefined) {
        const summary = describeTemplate(loadTemplate(flags.helpTemplate, { render: false }));
        if (json) printJson(summary);
        else process.stdout.write(templateHelp(summary));
        return;
      }
      if (name === undefined) throw new KdevError('INVALID', 'name the environment: kdev env create <name> --template <t>', 'For example: kdev env create pr-123 --template hello.');
      const set = parseSets(flags.set);
      validateEnvName(name);
      const template = templateFrom(flags);
      if (flags.dryRun) {
        const plan = planEnvironment({ name, template, set });
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
      // The handler stays until everything is printed: a Ctrl-C after the create returned
      // is reported like one during its last step (kept, and how to delete it).
      const stop = interruptible(name);
      try {
        let created;
        try {
          created = await createEnvironment(cluster, {
            name,
            template,
            ttl: flags.ttl,
            set,
            owner: flags.owner,
            wait: flags.wait ?? false,
            onProgress: renderer?.onEvent ?? quiet,
            signal: stop.signal,
            checkIsolation: flags.isolationCheck,
          });
        } finally {
          await renderer?.done();
        }
        const path = writeKubeconfig(flags.kubeconfigOut ?? join(envDir(), `${name}.kubeconfig`), created.kubeconfig);
        const notes = () => printCreateNotes(name, { isolation: created.isolation, interrupted: created.interrupted || stop.signal.aborted });
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
            isolation: created.isolation ?? null,
            interrupted: created.interrupted,
          });
          notes();
          return;
        }
        const out = process.stdout;
        out.write(`✓ environment ${name} ${flags.wait ? 'ready' : 'created'} in ${(created.durationMs / 1000).toFixed(1)} s (template ${created.info.template}, owner ${created.info.owner}, expires ${created.info.expires ? created.info.expires.toISOString() : 'never'})\n`);
        out.write(`  kubeconfig: ${path}\n`);
        for (const e of created.endpoints) out.write(`  ${e.service.padEnd(16)} ${e.ports.map((p) => p.address).join(', ')}\n`);
        out.write(`  use it: KUBECONFIG=${path} kubectl get pods\n`);
        notes();
      } finally {
        stop.dispose();
      }
    });

  env
    .command('list')
    .alias('ls')
    .description('list environments')
    .option('--mine', 'only environments you own')
    .action(async (flags: { mine?: boolean }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const owner = flags.mine ? await resolveOwner(cluster) : undefined;
      const envs = await Promise.all((await listEnvironments(cluster, { owner })).map((e) => withDevActivity(cluster, e)));
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
          ['NAME', 'OWNER', 'TEMPLATE', 'STATE', 'AGE', 'IDLE', 'EXPIRES'],
          ...envs.map((e) => [e.name, e.owner, e.template, e.state, since(e.created, now), idleText(e, now), expiresText(e, now)], 3),
        ], 3),
      );
    });

  env
    .command('show')
    .description("an environment's details and endpoints")
    .addArgument(envArg())
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const info = await withDevActivity(cluster, await getEnvironment(cluster, name));
      const endpoints = await environmentEndpoints(cluster, name);
      if (wantsJson(cmd)) {
        printJson({ ...infoJson(info), endpoints });
        return;
      }
      process.stdout.write(`${info.name}: template ${info.template}, owner ${info.owner}, ${info.state}, idle ${idleText(info)}${info.devSessions > 0 ? ` (${info.devSessions} dev sessions)` : ''}, expires ${expiresText(info)}\n`);
      process.stdout.write(`  workloads: ${info.workloads.map((w) => w.name).join(', ')}\n`);
      for (const line of describeNetwork(info.network)) process.stdout.write(`  ${line}\n`);
      for (const e of endpoints) process.stdout.write(`  ${e.service.padEnd(16)} ${e.ports.map((p) => p.address).join(', ')}\n`);
    });

  env
    .command('delete')
    .alias('rm')
    .description('delete an environment and everything in it')
    .addArgument(envArg())
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
    .addArgument(envArg())
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
    .addArgument(envArg())
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
    .description('delete your expired environments, and sleep idle ones with --sleep-idle (safe from a CronJob or a CI schedule)')
    .option('--all', "everyone's environments, not only yours")
    .option('--dry-run', 'only show what would be deleted or put to sleep')
    .option('--wait', 'wait until the namespaces are gone')
    .option('--sleep-idle <duration>', 'also sleep environments without activity (kdev commands, dev sessions) for this long, e.g. 2h')
    .action(async (flags: { all?: boolean; dryRun?: boolean; wait?: boolean; sleepIdle?: string }, cmd: Command) => {
      const idleMs = flags.sleepIdle === undefined ? undefined : parseDuration(flags.sleepIdle);
      if (idleMs !== undefined && !(idleMs > 0)) throw new KdevError('INVALID', `--sleep-idle ${flags.sleepIdle}: not a duration`, 'Use e.g. 30m, 2h or 1d.');
      const cluster = clusterFor(cmd);
      const result = await gcEnvironments(cluster, { all: flags.all, dryRun: flags.dryRun, wait: flags.wait });
      const idle = idleMs === undefined ? undefined : await sleepIdleEnvironments(cluster, { idleMs, all: flags.all, dryRun: flags.dryRun });
      if (wantsJson(cmd)) {
        printJson({ dryRun: flags.dryRun === true, scope: result.scope, deleted: result.deleted.map((e) => e.name), kept: result.kept.map((e) => e.name), slept: idle?.slept.map((e) => e.name) ?? [] });
        return;
      }
      const whose = result.scope.all ? 'environments' : `environments of ${result.scope.owner}`;
      if (result.deleted.length === 0) process.stdout.write(`nothing to collect (${result.kept.length} ${whose} unexpired)\n`);
      for (const e of result.deleted) process.stdout.write(`${flags.dryRun ? 'would delete' : '✓ deleted'} ${e.name} (owner ${e.owner}, ${expiresText(e)})\n`);
      for (const e of idle?.slept ?? []) process.stdout.write(`${flags.dryRun ? 'would sleep' : '✓ asleep'} ${e.name} (owner ${e.owner}, idle ${idleText(e)})\n`);
    });

  env
    .command('kubeconfig')
    .description("a kubeconfig for the environment's ServiceAccount (token from the TokenRequest API)")
    .addArgument(envArg())
    .option('--out <file>', 'write it to a file (mode 600) instead of stdout')
    .option('--duration <seconds>', 'token lifetime in seconds (default: until the environment expires, at most 24 h; minimum 600)', (v) => parseNumberFlag('--duration', v, TOKEN_SECONDS))
    .action(async (name: string, flags: { out?: string; duration?: number }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      await wakeOnUse(cluster, name, wantsJson(cmd));
      const { kubeconfig, expires } = await environmentKubeconfig(cluster, name, { seconds: flags.duration });
      const path = flags.out ? writeKubeconfig(flags.out, kubeconfig) : undefined;
      if (wantsJson(cmd)) printJson({ name, kubeconfig: path ?? kubeconfig, expires: expires.toISOString() });
      else if (path) process.stdout.write(`${path}\n`);
      else process.stdout.write(kubeconfig);
    });

  env
    .command('templates')
    .description('list the templates kdev finds ($KDEV_TEMPLATES, then its own) with their parameters')
    .action((_flags: unknown, cmd: Command) => {
      const all = listTemplates().map((t) => {
        try {
          return { ...describeTemplate(loadTemplate(t.dir)), name: t.name };
        } catch (err) {
          return { name: t.name, dir: t.dir, error: (err as Error).message };
        }
      });
      if (wantsJson(cmd)) printJson(all);
      else for (const t of all) process.stdout.write('error' in t ? `${t.name}: invalid: ${t.error}\n` : templateHelp(t));
    });

  env
    .command('render')
    .description('print exactly what `env create` would apply in the namespace (YAML), for reviews and CI diffs; needs no cluster')
    .argument('[template]', 'a template name or folder (or use --chart / --kustomize)')
    .option('--chart <dir|tgz>', 'a Helm chart instead of a template')
    .option('--kustomize <dir>', 'a Kustomize folder instead of a template')
    .option('--env <name>', 'the environment (and namespace) name to render for', 'preview')
    .option('--set <key=value>', 'as for env create (repeatable)', collect, [])
    .action((template: string | undefined, flags: { chart?: string; kustomize?: string; env: string; set: string[] }, cmd: Command) => {
      const set = parseSets(flags.set);
      validateEnvName(flags.env);
      const { objects } = renderEnvironment({ name: flags.env, template: templateFrom({ template, chart: flags.chart, kustomize: flags.kustomize }), set });
      if (wantsJson(cmd)) printJson(objects);
      else process.stdout.write(yamlStream(objects));
    });
}
