// `kdev env templates` and `kdev env create --help-template <t>` show each template's typed
// parameters (type, default, bounds, allowed values, description), as text and as JSON.
// The CLI as built; no cluster is needed, and --help-template needs no helm or kustomize.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { jsonOf, runKdev } from '../lib/cli.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'templates');
const PAYLOADS = join(FIXTURES, 'payloads');

interface Summary {
  name: string;
  payloads: string[];
  parameters: Record<string, { type: string; default: unknown; description?: string; enum?: unknown[]; minimum?: number; maximum?: number }>;
  error?: string;
}

describe('kdev env templates and --help-template: typed parameters', () => {
  it('env templates lists the bundled and $KDEV_TEMPLATES templates with their parameters', async () => {
    const r = await runKdev(['env', 'templates'], { KDEV_TEMPLATES: FIXTURES });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hello: Two services\..*\n {2}from: .*templates\/hello \(manifests manifests\)\n {2}parameters \(--set name=value\):\n {4}greeting +string +default "Hello" +What the backend says\.\n {4}replicas +integer +default 1 +Replicas of each service\.$/m);
    assert.match(r.stdout, /^payloads: .*\n {2}from: .*\(manifests manifests, chart chart, kustomize overlay\)\n {2}parameters \(--set name=value\):\n {4}replicas +integer +default 1; >= 0, <= 3 +Replicas of api\.\n {4}colour +string +default "blue"; one of blue \| green +What api answers\.$/m);
    assert.match(r.stdout, /^invalid: invalid: .*invalid\/template\.yaml:6: workloads\.0\.dependsOn\.0: unknown workload "database"$/m, 'a broken template is named with file, line and field, the rest still listed');

    const j = await runKdev(['-o', 'json', 'env', 'templates'], { KDEV_TEMPLATES: FIXTURES });
    const all = jsonOf<Summary[]>(j);
    const hello = all.find((t) => t.name === 'hello')!;
    assert.deepEqual(hello.parameters.replicas, { type: 'integer', default: 1, description: 'Replicas of each service.' });
    const meeting = all.find((t) => t.name === 'meeting')!;
    assert.equal(meeting.parameters.hosts?.type, 'integer');
    assert.ok(all.find((t) => t.name === 'invalid')?.error, 'the invalid one carries its error');
  });

  it('--help-template shows one template (by name or folder), with no helm or kustomize on PATH', async () => {
    const noTools = { PATH: dirname(process.execPath) };
    const r = await runKdev(['env', 'create', '--help-template', PAYLOADS], noTools);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replicas +integer +default 1; >= 0, <= 3 +Replicas of api\./);
    assert.match(r.stdout, /colour +string +default "blue"; one of blue \| green/);
    const j = jsonOf<Summary>(await runKdev(['-o', 'json', 'env', 'create', '--help-template', PAYLOADS], noTools));
    assert.deepEqual(j.parameters, {
      replicas: { type: 'integer', default: 1, description: 'Replicas of api.', minimum: 0, maximum: 3 },
      colour: { type: 'string', default: 'blue', description: 'What api answers.', enum: ['blue', 'green'] },
    });
    const byName = await runKdev(['env', 'create', '--help-template', 'hello']);
    assert.match(byName.stdout, /^hello: .*\n(.*\n)* {4}greeting +string +default "Hello"/);
    const unknown = await runKdev(['-o', 'json', 'env', 'create', '--help-template', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(jsonOf<{ error: { message: string; hint: string } }>(unknown).error.hint, /Known templates: hello, meeting/);
  });
});
