// The cluster's images, built locally: Debian root filesystems from mmdebstrap, or a
// single layer of files (a static binary), written as OCI image layouts and imported into
// containerd. No registry is involved anywhere; pods use imagePullPolicy IfNotPresent.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CACHE_DIR, COREDNS_BIN, COREDNS_VERSION, IMAGE_CACHE_DIR, IMAGE_PREFIX, NODE_IMAGE, PAUSE_IMAGE } from './config.js';
import { run } from './steps.js';

interface DebianSource {
  kind: 'debian';
  packages: string[];
  /** Zip archives from Maven Central (fetched with mvn into the cache), unpacked into the image. */
  maven?: Array<{ artifact: string; to: string }>;
  /** mmdebstrap customize hooks run after the packages (e.g. chown for a non-root service). */
  hooks?: string[];
}
interface FilesSource {
  kind: 'files';
  /** Files placed in the layer: path inside the image → host file. */
  files: Array<{ path: string; from: string; mode: number }>;
  symlinks?: Array<{ path: string; target: string }>;
  /** Changes whenever the host files would (their package or build version). */
  version: string;
}

export interface ImageRecipe {
  ref: string;
  description: string;
  source: DebianSource | FilesSource;
  config: { Entrypoint?: string[]; Cmd?: string[]; Env: string[]; WorkingDir?: string };
}

export const OPENSEARCH_VERSION = '2.19.1';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEV_TOOLS = ['bash', 'git', 'procps', 'curl', 'ca-certificates', 'less', 'tar'];

export const IMAGES: readonly ImageRecipe[] = [
  {
    ref: PAUSE_IMAGE,
    description: 'pod sandbox (busybox sh waiting for a signal)',
    source: {
      kind: 'files',
      files: [{ path: 'bin/busybox', from: '/bin/busybox', mode: 0o755 }],
      symlinks: [{ path: 'bin/sh', target: 'busybox' }],
      version: 'busybox-static-1',
    },
    config: {
      Entrypoint: ['/bin/busybox', 'sh', '-c', 'trap "exit 0" TERM INT; while :; do /bin/busybox sleep 3600 & wait $!; done'],
      Env: [PATH_ENV],
    },
  },
  {
    ref: `${IMAGE_PREFIX}/coredns:${COREDNS_VERSION.replace(/^v/, '')}`,
    description: 'cluster DNS, CoreDNS built from its Go module',
    source: { kind: 'files', files: [{ path: 'coredns', from: COREDNS_BIN, mode: 0o755 }], version: COREDNS_VERSION },
    config: { Entrypoint: ['/coredns'], Env: [PATH_ENV] },
  },
  {
    ref: NODE_IMAGE,
    description: "Node.js runtime (Debian's nodejs): the sync sidecar and the templates' services",
    source: { kind: 'debian', packages: ['nodejs'] },
    config: { Cmd: ['node'], Env: [PATH_ENV], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/dev-node:18`,
    description: 'dev image: Node.js, npm, git, bash',
    source: { kind: 'debian', packages: ['nodejs', 'npm', ...DEV_TOOLS] },
    config: { Cmd: ['bash'], Env: [PATH_ENV], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/dev-python:3.11`,
    description: 'dev image: Python 3, pip, venv, debugpy, git, bash',
    source: { kind: 'debian', packages: ['python3', 'python3-pip', 'python3-venv', 'python3-debugpy', ...DEV_TOOLS] },
    config: { Cmd: ['bash'], Env: [PATH_ENV], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/dev-go:1.19`,
    description: 'dev image: Go, delve, git, bash',
    source: { kind: 'debian', packages: ['golang-go', 'delve', ...DEV_TOOLS] },
    config: { Cmd: ['bash'], Env: [PATH_ENV, 'CGO_ENABLED=0', 'GOFLAGS=-mod=mod'], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/dev-java:17`,
    description: 'dev image: OpenJDK 17 (javac, jdb, JDWP), git, bash',
    source: { kind: 'debian', packages: ['openjdk-17-jdk-headless', ...DEV_TOOLS] },
    config: { Cmd: ['bash'], Env: [PATH_ENV], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/redis:7`,
    description: "Redis 7 (Debian's redis-server): the meeting template's shared store and queues",
    source: { kind: 'debian', packages: ['redis-server'] },
    config: { Entrypoint: ['redis-server'], Cmd: ['--protected-mode', 'no', '--save', '', '--appendonly', 'no'], Env: [PATH_ENV], WorkingDir: '/' },
  },
  {
    ref: `${IMAGE_PREFIX}/opensearch:${OPENSEARCH_VERSION}`,
    description: "OpenSearch (integ-test-zip from Maven Central) on Debian's OpenJDK 17: the meeting template's search engine",
    source: {
      kind: 'debian',
      packages: ['openjdk-17-jre-headless'],
      maven: [{ artifact: `org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip`, to: '/opt/opensearch' }],
      // OpenSearch refuses to run as root: the pod runs it as uid 1000, which must own its home
      hooks: ['chown -R 1000:1000 "$1"/opt/opensearch'],
    },
    config: {
      Entrypoint: ['/opt/opensearch/bin/opensearch'],
      Env: [PATH_ENV, 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', 'OPENSEARCH_JAVA_OPTS=-Xms512m -Xmx512m'],
      WorkingDir: '/opt/opensearch',
    },
  },
];

/** A cached image: the OCI archive and the digest of its manifest. */
export interface BuiltImage {
  ref: string;
  archive: string;
  manifestDigest: string;
  sizeBytes: number;
}

function recipeKey(recipe: ImageRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

function archivePath(recipe: ImageRecipe): string {
  const safe = recipe.ref.replace(/^[^/]+\//, '').replace(/[:/]/g, '_');
  return join(IMAGE_CACHE_DIR, `${safe}-${recipeKey(recipe)}.oci.tar`);
}

/** Builds an image's OCI archive unless the cache already holds one for this exact recipe. */
export async function buildImage(recipe: ImageRecipe, log: string): Promise<BuiltImage> {
  mkdirSync(IMAGE_CACHE_DIR, { recursive: true });
  const archive = archivePath(recipe);
  const meta = `${archive}.json`;
  if (existsSync(archive) && existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as BuiltImage;

  const layer = `${archive}.layer.tar`;
  try {
    if (recipe.source.kind === 'debian') await debianRootfs(recipe.source, layer, log);
    else await filesLayer(recipe.source, layer);
    const manifestDigest = await writeOciArchive(recipe, layer, `${archive}.partial`);
    renameSync(`${archive}.partial`, archive);
    const built: BuiltImage = { ref: recipe.ref, archive, manifestDigest, sizeBytes: statSync(archive).size };
    writeFileSync(meta, JSON.stringify(built, null, 2));
    return built;
  } finally {
    rmSync(layer, { force: true });
    rmSync(`${archive}.partial`, { force: true });
  }
}

async function debianRootfs(source: DebianSource, out: string, log: string): Promise<void> {
  await run(
    'mmdebstrap',
    [
      '--mode=root',
      '--variant=apt',
      '--format=tar',
      '--skip=output/dev',
      `--include=${source.packages.join(',')}`,
      '--aptopt=APT::Install-Recommends "false"',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      // Maintainer scripts (the JDK's update-alternatives) expect the man folders to exist.
      '--setup-hook=mkdir -p "$1"/usr/share/man/man1',
      ...(await mavenCopyIns(source, log)),
      ...(source.hooks ?? []).map((h) => `--customize-hook=${h}`),
      '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
      'bookworm',
      out,
    ],
    { log, timeoutMs: 30 * 60_000 },
  );
}

/**
 * Fetches each Maven artifact (a zip) with mvn into ~/.cache/kdev/m2, unpacks it once into
 * the image cache, and returns the mmdebstrap hooks that copy it to its place in the image.
 */
async function mavenCopyIns(source: DebianSource, log: string): Promise<string[]> {
  const hooks: string[] = [];
  for (const m of source.maven ?? []) {
    const [group, artifact, version, packaging = 'zip'] = m.artifact.split(':');
    if (!group || !artifact || !version) throw new Error(`maven artifact "${m.artifact}" is not group:artifact:version[:packaging]`);
    const repo = join(CACHE_DIR, 'm2');
    const file = join(repo, ...group.split('.'), artifact, version, `${artifact}-${version}.${packaging}`);
    if (!existsSync(file)) {
      await run('mvn', ['-q', '-B', `-Dmaven.repo.local=${repo}`, 'dependency:get', `-Dartifact=${group}:${artifact}:${version}:${packaging}`, '-Dtransitive=false'], { log, timeoutMs: 15 * 60_000 });
    }
    const unpacked = join(IMAGE_CACHE_DIR, 'unpacked', `${artifact}-${version}`);
    if (!existsSync(join(unpacked, '.done'))) {
      rmSync(unpacked, { recursive: true, force: true });
      mkdirSync(unpacked, { recursive: true });
      await run('unzip', ['-q', file, '-d', unpacked], { log });
      writeFileSync(join(unpacked, '.done'), '');
    }
    // the zip holds one top folder (e.g. opensearch-2.19.1/): it becomes `to`
    const top = readdirSync(unpacked).filter((n) => n !== '.done');
    if (top.length !== 1) throw new Error(`${file}: expected one top folder, found ${top.join(', ')}`);
    const parent = m.to.slice(0, m.to.lastIndexOf('/')) || '/';
    hooks.push(`--customize-hook=mkdir -p "$1"${parent}`, `--customize-hook=copy-in ${join(unpacked, top[0]!)} ${parent}`, `--customize-hook=mv "$1"${parent}/${top[0]} "$1"${m.to}`);
  }
  return hooks;
}

async function filesLayer(source: FilesSource, out: string): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out));
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
      }
    }
  };
  for (const f of source.files) {
    addDirs(f.path);
    pack.entry({ name: f.path, mode: f.mode }, readFileSync(f.from));
  }
  for (const l of source.symlinks ?? []) {
    addDirs(l.path);
    pack.entry({ name: l.path, type: 'symlink', linkname: l.target });
  }
  for (const dir of ['tmp', 'etc']) {
    if (!dirs.has(dir)) pack.entry({ name: `${dir}/`, type: 'directory', mode: dir === 'tmp' ? 0o1777 : 0o755 });
  }
  pack.finalize();
  await done;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

/** Writes an OCI image layout (one uncompressed layer) as a tar that `ctr images import` takes. */
async function writeOciArchive(recipe: ImageRecipe, layer: string, out: string): Promise<string> {
  const layerDigest = await sha256File(layer);
  const layerSize = statSync(layer).size;
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: recipe.config,
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created_by: `kdev test/cluster/images.ts: ${recipe.description}` }],
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: Buffer.byteLength(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layerSize }],
  });
  const manifestDigest = `sha256:${sha256(manifest)}`;
  const tag = recipe.ref.slice(recipe.ref.lastIndexOf(':') + 1);
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifestDigest,
        size: Buffer.byteLength(manifest),
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': recipe.ref, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  });

  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out));
  pack.entry({ name: 'oci-layout' }, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  pack.entry({ name: 'index.json' }, index);
  pack.entry({ name: 'blobs/', type: 'directory' });
  pack.entry({ name: 'blobs/sha256/', type: 'directory' });
  pack.entry({ name: `blobs/sha256/${sha256(config)}` }, config);
  pack.entry({ name: `blobs/sha256/${sha256(manifest)}` }, manifest);
  const entry = pack.entry({ name: `blobs/sha256/${layerDigest}`, size: layerSize });
  await pipeline(createReadStream(layer), entry);
  pack.finalize();
  await done;
  return manifestDigest;
}
