// Typed template parameters: types, defaults, enums, bounds; --set checked before anything
// is rendered, with the file, line and field of the parameter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { coerceParam, helmHook, isKdevError, loadTemplate, parametersJsonSchema, paramType, parseTemplateSpec, planTemplate, valuesWithParams } from '@kdev/core/internals';

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKdevError(err), String(err));
    assert.equal(err.code, 'INVALID');
    assert.match(err.message, pattern);
    return true;
  });
}

const TEMPLATE = `name: typed
parameters:
  replicas:
    type: integer
    default: 1
    minimum: 0
    maximum: 3
    description: Replicas of web.
  tier:
    default: small
    enum: [small, large]
  debug:
    default: false
workloads:
  - name: web
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: \${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, tier: \${tier}, debug: "\${debug}" } }
    spec: { containers: [{ name: web, image: kdev.local/node:18 }] }
`;

function makeTemplate(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-params-'));
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(join(dir, 'template.yaml'), TEMPLATE);
  writeFileSync(join(dir, 'manifests', 'web.yaml'), DEPLOYMENT);
  return dir;
}

describe('typed parameters', () => {
  it('types come from type, else from the default', () => {
    const { spec } = parseTemplateSpec(TEMPLATE, 't.yaml');
    assert.equal(paramType(spec.parameters.replicas!), 'integer');
    assert.equal(paramType(spec.parameters.tier!), 'string');
    assert.equal(paramType(spec.parameters.debug!), 'boolean');
    assert.equal(paramType({ default: 0.5 }), 'number');
    assert.deepEqual(parametersJsonSchema(spec.parameters).properties, {
      replicas: { type: 'integer', default: 1, description: 'Replicas of web.', minimum: 0, maximum: 3 },
      tier: { type: 'string', default: 'small', enum: ['small', 'large'] },
      debug: { type: 'boolean', default: false },
    });
  });

  it('coerces --set text to the type and checks enum and bounds', () => {
    const { spec } = parseTemplateSpec(TEMPLATE, 't.yaml');
    assert.deepEqual(coerceParam(spec.parameters.replicas!, '2'), { value: 2 });
    assert.deepEqual(coerceParam(spec.parameters.replicas!, 'two'), { problem: 'expected an integer, got "two"' });
    assert.deepEqual(coerceParam(spec.parameters.replicas!, '1.5'), { problem: 'expected an integer, got 1.5' });
    assert.deepEqual(coerceParam(spec.parameters.replicas!, '9'), { problem: '9 is above the maximum 3' });
    assert.deepEqual(coerceParam(spec.parameters.tier!, 'huge'), { problem: '"huge" is not one of "small", "large"' });
    assert.deepEqual(coerceParam(spec.parameters.debug!, 'yes'), { problem: 'expected true or false, got "yes"' });
    assert.deepEqual(coerceParam(spec.parameters.debug!, 'true'), { value: true });
  });

  it('a default that does not fit its type or enum is an error with file, line and field', () => {
    throwsInvalid(() => parseTemplateSpec(TEMPLATE.replace('default: 1\n', 'default: lots\n'), 't.yaml'), /^t\.yaml:5: parameters\.replicas\.default: expected an integer, got "lots"/);
    throwsInvalid(() => parseTemplateSpec(TEMPLATE.replace('default: small', 'default: medium'), 't.yaml'), /^t\.yaml:10: parameters\.tier\.default: "medium" is not one of/);
    throwsInvalid(() => parseTemplateSpec(TEMPLATE.replace('type: integer', 'type: float'), 't.yaml'), /^t\.yaml:4: parameters\.replicas\.type: /);
  });

  it('renders typed values and rejects a bad --set naming template.yaml, the line and the field', () => {
    const dir = makeTemplate();
    try {
      const t = loadTemplate(dir);
      const plan = planTemplate(t, { env: 'e1', set: { replicas: '3', tier: 'large' } });
      const web = plan.workloads[0]!.object as V1Deployment;
      assert.equal(web.spec!.replicas, 3);
      assert.equal(web.spec!.template.metadata!.labels!.tier, 'large');
      assert.deepEqual(plan.values.replicas, 3);
      throwsInvalid(() => planTemplate(t, { env: 'e1', set: { replicas: 'many' } }), new RegExp(`^--set replicas=many: expected an integer, got "many" \\(${join(dir, 'template.yaml')}:4: parameters\\.replicas\\)`));
      throwsInvalid(() => planTemplate(t, { env: 'e1', set: { tier: 'xl' } }), /--set tier=xl: "xl" is not one of "small", "large" \(.*template\.yaml:10: parameters\.tier\)/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('chart values and hooks', () => {
  it('"${p}" alone keeps the parameter\'s type; ${p} inside text is replaced; unknown names are errors', () => {
    const typed = { replicas: 2, debug: false, tier: 'small' };
    const strings = { replicas: '2', debug: 'false', tier: 'small' };
    assert.deepEqual(valuesWithParams({ replicas: '${replicas}', flags: ['${debug}', 'x-${tier}'], nested: { n: 1 } }, typed, strings, 'values'), {
      replicas: 2,
      flags: [false, 'x-small'],
      nested: { n: 1 },
    });
    throwsInvalid(() => valuesWithParams({ a: '${nope}' }, typed, strings, 'values of chart c'), /values of chart c:1: parameter \$\{nope\} has no value/);
  });

  it('install hooks order the start; other hooks are left out', () => {
    const hook = (h: string | undefined, weight?: string) => helmHook({ metadata: { annotations: { ...(h ? { 'helm.sh/hook': h } : {}), ...(weight ? { 'helm.sh/hook-weight': weight } : {}) } } });
    assert.equal(hook(undefined), undefined);
    assert.deepEqual(hook('pre-install,pre-upgrade', '-5'), { phase: 'pre', weight: -5 });
    assert.deepEqual(hook('post-install'), { phase: 'post', weight: 0 });
    assert.equal(hook('test'), 'skip');
    assert.equal(hook('pre-delete'), 'skip');
  });
});
