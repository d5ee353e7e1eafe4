// Builds Kubernetes, etcd and CoreDNS from their Go modules, once per version.
// The binaries are cached under ~/.cache/kdev/<component>/<version>/; a rebuild
// happens only when a version in config.ts changes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { CACHE_DIR, COREDNS_BIN, HELM_VERSION, KUBE_BIN_DIR, KUBERNETES_VERSION, KUSTOMIZE_VERSION, NETPOL_VERSION, SOURCE_DIR } from './config.js';
import { run } from './steps.js';

export const KUBE_BINARIES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'etcd',
] as const;

export function kubeBinary(name: (typeof KUBE_BINARIES)[number]): string {
  return join(KUBE_BIN_DIR, name);
}

export function kubernetesBuilt(): boolean {
  return KUBE_BINARIES.every((b) => existsSync(kubeBinary(b)));
}

/** The version stamps a release build carries, so that nodes and clients report v1.x, not v0.0.0. */
function versionLdflags(): string {
  const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
  const stamps: Record<string, string> = {
    gitVersion: KUBERNETES_VERSION,
    gitMajor: major ?? '',
    gitMinor: minor ?? '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
  };
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, v] of Object.entries(stamps)) flags.push(`-X ${pkg}.${k}=${v}`);
  }
  return flags.join(' ');
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' };
}

export async function buildKubernetes(log: string): Promise<void> {
  if (kubernetesBuilt()) return;
  const tmp = `${KUBE_BIN_DIR}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const packages = KUBE_BINARIES.filter((b) => b !== 'etcd').map((b) => `k8s.io/kubernetes/cmd/${b}`);
  await run('go', ['build', '-trimpath', '-ldflags', versionLdflags(), '-o', `${tmp}/`, ...packages, './cmd/etcd'], {
    log,
    cwd: join(SOURCE_DIR, 'go', 'kube'),
    env: goEnv(),
  });
  rmSync(KUBE_BIN_DIR, { recursive: true, force: true });
  mkdirSync(dirname(KUBE_BIN_DIR), { recursive: true });
  renameSync(tmp, KUBE_BIN_DIR);
}

export async function buildCoreDNS(log: string): Promise<void> {
  if (existsSync(COREDNS_BIN)) return;
  mkdirSync(dirname(COREDNS_BIN), { recursive: true });
  const tmp = `${COREDNS_BIN}.partial`;
  await run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', tmp, '.'], {
    log,
    cwd: join(SOURCE_DIR, 'go', 'coredns'),
    env: goEnv(),
  });
  renameSync(tmp, COREDNS_BIN);
}

/**
 * A Go program of the cluster, built from the module in test/cluster/go/<dir> (its go.mod
 * pins the upstream version). Another tool is one more entry of this shape.
 */
export interface GoTool {
  name: string;
  version: string;
  /** Folder under test/cluster/go/. */
  dir: string;
  /** The package to build, relative to the module. */
  pkg: string;
}

/** The NetworkPolicy engine (test/cluster/netpol.ts starts it). */
export const NETPOL_ENGINE: GoTool = { name: 'kube-network-policies', version: NETPOL_VERSION, dir: 'netpol', pkg: '.' };

/**
 * Where a tool's binary is cached: ~/.cache/kdev/<name>/<version>-<hash>/<name>, the hash
 * covering the module's own files, so that a change to them rebuilds it.
 */
export function goToolBinary(tool: GoTool): string {
  const dir = join(SOURCE_DIR, 'go', tool.dir);
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => /\.(go|mod|sum)$/.test(n)).sort()) hash.update(f).update('\0').update(readFileSync(join(dir, f)));
  return join(CACHE_DIR, tool.name, `${tool.version}-${hash.digest('hex').slice(0, 12)}`, tool.name);
}

export async function buildGoTool(tool: GoTool, log: string): Promise<string> {
  const bin = goToolBinary(tool);
  if (existsSync(bin)) return bin;
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.partial`;
  await run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', tmp, tool.pkg], { log, cwd: join(SOURCE_DIR, 'go', tool.dir), env: goEnv() });
  renameSync(tmp, bin);
  return bin;
}

/**
 * The command-line tools kdev's environments render templates with: `helm template` and
 * `kustomize build`. Plain binaries on the PATH of the tests and the demo, not cluster
 * components; each is built from its module under go/<name> and cached at
 * ~/.cache/kdev/<name>/<version>/<name>. The version stamps are what `--version` prints.
 */
export const RENDER_TOOLS = [
  {
    name: 'helm',
    version: HELM_VERSION,
    pkg: 'helm.sh/helm/v4/cmd/helm',
    stamps: { 'helm.sh/helm/v4/internal/version.version': HELM_VERSION, 'helm.sh/helm/v4/internal/version.gitTreeState': 'clean' },
  },
  {
    name: 'kustomize',
    version: KUSTOMIZE_VERSION,
    pkg: 'sigs.k8s.io/kustomize/kustomize/v5',
    stamps: { 'sigs.k8s.io/kustomize/api/provenance.version': `kustomize/${KUSTOMIZE_VERSION}` },
  },
] as const;
export type RenderTool = (typeof RENDER_TOOLS)[number];

export function renderToolBinary(tool: RenderTool): string {
  return join(CACHE_DIR, tool.name, tool.version, tool.name);
}

/** The folders to put first on PATH so that `helm` and `kustomize` are the cached builds. */
export function renderToolDirs(): string[] {
  return RENDER_TOOLS.map((t) => dirname(renderToolBinary(t)));
}

/** Builds each render tool that is not cached yet; returns the PATH folders. */
export async function buildRenderTools(log: string): Promise<string[]> {
  for (const tool of RENDER_TOOLS) {
    const bin = renderToolBinary(tool);
    if (existsSync(bin)) continue;
    mkdirSync(dirname(bin), { recursive: true });
    const stamps = Object.entries(tool.stamps).map(([k, v]) => `-X ${k}=${v}`);
    await run('go', ['build', '-trimpath', '-ldflags', ['-s', '-w', ...stamps].join(' '), '-o', `${bin}.partial`, tool.pkg], {
      log,
      cwd: join(SOURCE_DIR, 'go', tool.name),
      env: goEnv(),
    });
    renameSync(`${bin}.partial`, bin);
  }
  return renderToolDirs();
}
