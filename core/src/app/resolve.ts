// THE rule of which workload, container, dev config and local folder apply. Both UIs call
// it (through DevLoop.resolve), so `kdev dev start|run|debug|...` and VS Code's commands
// cannot disagree. `decide` is pure (unit-tested over a table of cases); `resolveDev`
// gathers its inputs (the .kdev.yaml, the environment template's dev config, the
// workloads I have in dev mode) and only reads the cluster when the rule needs it.
import { dirname, resolve as resolvePath } from 'node:path';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { devEntryFor, loadConfig, type LoadedConfig } from '../config/load.js';
import type { DevConfig, DevEntry } from '../config/schema.js';
import { parseWorkloadRef, refString } from '../devmode/kinds.js';
import { environmentDevConfig, type EnvironmentDevConfig } from '../env/devconfig.js';
import { devStatus } from '../devmode/list.js';
import { whoAmI } from '../devmode/lease.js';

export interface ResolveRequest {
  /** "kind/name" or a Deployment's bare name; default: the only entry of .kdev.yaml, else the only workload I have in dev mode. */
  workload?: string;
  /** Where .kdev.yaml is looked for (a file, or a folder searched upwards); default: the current folder. */
  configFrom?: string;
  /** The local folder to sync, when the user named one (`--local`, the folder picked in VS Code). */
  local?: string;
  /** Explicit choices that win over the dev config. */
  container?: string;
  image?: string;
  workDir?: string;
}

/** Where the dev entry came from. */
export type EntrySource = { kind: 'config'; file: string } | { kind: 'template'; template: string; dir: string } | { kind: 'none' };

export interface Resolved {
  /** "kind/name", normalised. */
  workload: string;
  /** The dev entry that applies (undefined: none; then the workload's current image and defaults). */
  entry?: DevEntry;
  source: EntrySource;
  /** Absolute local folder that syncs into the dev container. */
  localRoot: string;
  container?: string;
  image?: string;
  workDir?: string;
}

/** Everything the rule looks at, gathered by resolveDev. */
export interface ResolveFacts {
  request: ResolveRequest;
  /** The .kdev.yaml found from request.configFrom (file undefined: none). */
  local: LoadedConfig;
  /** The dev config of the environment template of the namespace, if it is an environment. */
  template?: EnvironmentDevConfig;
  /** The workloads ("kind/name") I have in dev mode in the namespace; asked only when needed. */
  mine?: string[];
}

function entryOf(config: DevConfig | undefined, workload: string): DevEntry | undefined {
  if (!config) return undefined;
  const ref = parseWorkloadRef(workload);
  return devEntryFor(config, ref.kind.kind, ref.name);
}

/** Which workload, when none was named: the one of .kdev.yaml, else the one I have in dev mode. */
export function pickWorkload(facts: Pick<ResolveFacts, 'request' | 'local' | 'mine'>): string | undefined {
  if (facts.request.workload) return refString(parseWorkloadRef(facts.request.workload));
  const keys = Object.keys(facts.local.config.dev);
  if (keys.length === 1) return refString(parseWorkloadRef(keys[0]!));
  if (facts.mine?.length === 1) return refString(parseWorkloadRef(facts.mine[0]!));
  return undefined;
}

function whichWorkload(facts: ResolveFacts): KdevError {
  const keys = Object.keys(facts.local.config.dev);
  const mine = facts.mine ?? [];
  const hint =
    keys.length > 1
      ? `${facts.local.file ?? '.kdev.yaml'} has ${keys.join(', ')}`
      : mine.length > 1
        ? `You have ${mine.join(', ')} in dev mode.`
        : 'Start dev mode first: kdev dev start <workload>';
  return new KdevError('INVALID', 'which workload? name one', hint);
}

/**
 * The rule, pure:
 *   workload  = the one named, else the only entry of .kdev.yaml, else the only one I have in dev mode;
 *   entry     = the workload's entry in .kdev.yaml, else in the environment template's dev config;
 *   localRoot = the folder named (--local / picked), else the entry's sync.local from the
 *               folder of the config it came from, else the folder .kdev.yaml was searched from;
 *   container, image, workDir = named, else the entry's.
 */
export function decide(facts: ResolveFacts): Resolved {
  const workload = pickWorkload(facts);
  if (!workload) throw whichWorkload(facts);
  const { request, local, template } = facts;
  const fromConfig = entryOf(local.config, workload);
  const fromTemplate = fromConfig ? undefined : entryOf(template?.config, workload);
  const entry = fromConfig ?? fromTemplate;
  const source: EntrySource = fromConfig
    ? { kind: 'config', file: local.file! }
    : fromTemplate
      ? { kind: 'template', template: template!.template, dir: template!.root }
      : { kind: 'none' };
  const root = source.kind === 'config' ? dirname(source.file) : source.kind === 'template' ? source.dir : local.root;
  const localRoot = request.local ? resolvePath(request.local) : resolvePath(root, entry?.sync.local ?? '.');
  return {
    workload,
    entry,
    source,
    localRoot,
    container: request.container ?? entry?.container,
    image: request.image ?? entry?.image,
    workDir: request.workDir ?? entry?.workDir,
  };
}

/** Where the entry came from, for messages: "config /p/.kdev.yaml", "the dev config of template meeting". */
export function sourceText(s: EntrySource): string {
  return s.kind === 'config' ? `config ${s.file}` : s.kind === 'template' ? `the dev config of template ${s.template}` : 'no .kdev.yaml';
}

/** Gathers the facts (reading the cluster only when the rule needs it) and applies the rule. */
export async function resolveDev(cluster: Cluster, request: ResolveRequest): Promise<Resolved> {
  const local = loadConfig(request.configFrom ?? process.cwd());
  const facts: ResolveFacts = { request, local };
  if (!pickWorkload(facts)) {
    const me = await whoAmI(cluster);
    facts.mine = (await devStatus(cluster)).filter((w) => w.dev?.owner === me).map((w) => `${w.kind.toLowerCase()}/${w.name}`);
  }
  const workload = pickWorkload(facts);
  if (workload && !entryOf(local.config, workload)) facts.template = await environmentDevConfig(cluster);
  return decide(facts);
}

/** `kdev config validate`: the .kdev.yaml found from a file or folder, parsed and checked (throws on errors). */
export function inspectConfig(fileOrDir: string = process.cwd()): LoadedConfig {
  return loadConfig(fileOrDir);
}
