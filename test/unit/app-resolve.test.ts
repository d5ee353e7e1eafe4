// THE rule of which workload, dev config and local folder apply (core/src/app/resolve.ts),
// over a table of cases. Both UIs call this one function, so these cases hold for both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decide, isKdevError, type ResolveFacts } from '@kdev/core/internals';
import { configSchema } from '@kdev/core/internals';

const CWD = '/home/dev/shop';
const TEMPLATE_DIR = '/opt/kdev/templates/meeting';

const config = (dev: Record<string, unknown>) => configSchema.parse({ dev });
const localConfig = (dev: Record<string, unknown>, file = join(CWD, '.kdev.yaml')) => ({ file, root: CWD, config: config(dev) });
const noConfig = { root: CWD, config: config({}) };
const template = {
  root: TEMPLATE_DIR,
  template: 'meeting',
  config: config({
    users: { image: 'kdev.local/dev-node:18', run: 'node main.mjs', sync: { local: 'services/users' } },
    gateway: { run: 'node gw.mjs', ports: [8080], sync: { local: 'services/gateway' } },
  }),
};

interface Case {
  name: string;
  facts: ResolveFacts;
  want: { workload: string; source: string; localRoot: string; run?: string; image?: string; container?: string } | { error: RegExp };
}

const cases: Case[] = [
  {
    name: 'config present, entry by bare name, no --local: sync.local from the config folder',
    facts: { request: { workload: 'web' }, local: localConfig({ web: { run: 'npm start', sync: { local: 'src' } } }) },
    want: { workload: 'deployment/web', source: 'config', localRoot: join(CWD, 'src'), run: 'npm start' },
  },
  {
    name: 'config present, --local given: the named folder wins over sync.local',
    facts: { request: { workload: 'web', local: '/tmp/elsewhere' }, local: localConfig({ web: { sync: { local: 'src' } } }) },
    want: { workload: 'deployment/web', source: 'config', localRoot: '/tmp/elsewhere' },
  },
  {
    name: 'config absent, environment template has the service: its dev config applies (run command too)',
    facts: { request: { workload: 'users' }, local: noConfig, template },
    want: { workload: 'deployment/users', source: 'template', localRoot: join(TEMPLATE_DIR, 'services/users'), run: 'node main.mjs', image: 'kdev.local/dev-node:18' },
  },
  {
    name: 'config absent, template, --local given (the folder picked in VS Code): that folder, template entry still applies',
    facts: { request: { workload: 'deployment/users', local: '/home/dev/users' }, local: noConfig, template },
    want: { workload: 'deployment/users', source: 'template', localRoot: '/home/dev/users', run: 'node main.mjs' },
  },
  {
    name: 'config present without the workload, template has it: the template entry',
    facts: { request: { workload: 'gateway' }, local: localConfig({ web: {} }), template },
    want: { workload: 'deployment/gateway', source: 'template', localRoot: join(TEMPLATE_DIR, 'services/gateway'), run: 'node gw.mjs' },
  },
  {
    name: 'both have the workload: .kdev.yaml wins over the template',
    facts: { request: { workload: 'users' }, local: localConfig({ users: { run: 'node local.js' } }), template },
    want: { workload: 'deployment/users', source: 'config', localRoot: CWD, run: 'node local.js' },
  },
  {
    name: 'no entry anywhere: the folder the config was searched from, no dev config',
    facts: { request: { workload: 'statefulset/db' }, local: noConfig },
    want: { workload: 'statefulset/db', source: 'none', localRoot: CWD },
  },
  {
    name: 'kinds: a statefulset entry is keyed kind/name; a bare name is a Deployment only',
    facts: { request: { workload: 'sts/db' }, local: localConfig({ 'statefulset/db': { run: 'pg' }, db: { run: 'wrong' } }) },
    want: { workload: 'statefulset/db', source: 'config', localRoot: CWD, run: 'pg' },
  },
  {
    name: 'kinds: deployment/web finds the bare-name entry',
    facts: { request: { workload: 'deploy/web' }, local: localConfig({ web: { run: 'a' } }) },
    want: { workload: 'deployment/web', source: 'config', localRoot: CWD, run: 'a' },
  },
  {
    name: 'no workload named, one entry in .kdev.yaml: that one',
    facts: { request: {}, local: localConfig({ 'cronjob/report': { run: 'r' } }) },
    want: { workload: 'cronjob/report', source: 'config', localRoot: CWD, run: 'r' },
  },
  {
    name: 'no workload named, several entries, one workload of mine in dev mode: that one',
    facts: { request: {}, local: localConfig({ a: {}, b: { run: 'b' } }), mine: ['deployment/b'] },
    want: { workload: 'deployment/b', source: 'config', localRoot: CWD, run: 'b' },
  },
  {
    name: 'no workload named, no config, one of mine in dev mode (from a template): that one with the template entry',
    facts: { request: {}, local: noConfig, mine: ['deployment/users'], template },
    want: { workload: 'deployment/users', source: 'template', localRoot: join(TEMPLATE_DIR, 'services/users'), run: 'node main.mjs' },
  },
  {
    name: 'no workload named, several entries and nothing of mine: "which workload?" listing the entries',
    facts: { request: {}, local: localConfig({ a: {}, b: {} }), mine: [] },
    want: { error: /which workload/ },
  },
  {
    name: 'explicit container and image win over the entry',
    facts: { request: { workload: 'web', container: 'side', image: 'x:1' }, local: localConfig({ web: { container: 'app', image: 'y:2' } }) },
    want: { workload: 'deployment/web', source: 'config', localRoot: CWD, image: 'x:1', container: 'side' },
  },
];

describe('resolve: which workload, dev config and local folder apply', () => {
  for (const c of cases) {
    it(c.name, () => {
      if ('error' in c.want) {
        const re = c.want.error;
        assert.throws(() => decide(c.facts), (e: unknown) => isKdevError(e) && e.code === 'INVALID' && re.test(e.message) && e.hint !== undefined);
        return;
      }
      const r = decide(c.facts);
      assert.equal(r.workload, c.want.workload);
      assert.equal(r.source.kind, c.want.source);
      assert.equal(r.localRoot, c.want.localRoot);
      assert.equal(r.entry?.run, c.want.run);
      if (c.want.image !== undefined) assert.equal(r.image, c.want.image);
      if (c.want.container !== undefined) assert.equal(r.container, c.want.container);
    });
  }

  it('an unknown kind is a clear error', () => {
    assert.throws(() => decide({ request: { workload: 'gizmo/x' }, local: noConfig }), (e: unknown) => isKdevError(e) && /unknown workload kind/.test(e.message));
  });
});
