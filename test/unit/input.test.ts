// What a user types, checked before any request: names, numeric flags, --set values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTimeoutMs, isKdevError, loadTemplate, nameProblem, parseCountFlag, parsePortFlag, parseSecondsFlag, paramType, parseTemplateSpec, parseWorkloadRef, planTemplate } from '@kdev/core/internals';

function invalid(fn: () => unknown, message: RegExp, hint?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKdevError(err), `expected a KdevError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID');
    assert.match(err.message, message);
    if (hint) assert.match(err.hint ?? '', hint);
    return true;
  });
}

describe('Kubernetes names', () => {
  it('accepts RFC 1123 subdomains and labels', () => {
    for (const n of ['web', 'api-v2', 'a', '0', 'web.v1', 'x'.repeat(253)]) assert.equal(nameProblem(n, 'subdomain'), undefined, n);
    for (const n of ['web', 'pr-123', 'x'.repeat(63)]) assert.equal(nameProblem(n, 'label'), undefined, n);
  });
  it('refuses what would reach a collection or another path, or the API server refuses', () => {
    for (const n of ['.', '..', 'Web', 'web_1', '-web', 'web-', 'a..b', '.web', 'web.', 'a b', 'ü', 'x'.repeat(254), '']) {
      assert.notEqual(nameProblem(n, 'subdomain'), undefined, JSON.stringify(n));
    }
    for (const n of ['web.v1', 'x'.repeat(64)]) assert.notEqual(nameProblem(n, 'label'), undefined, n);
  });
  it('workload references check the name per kind before anything else', () => {
    invalid(() => parseWorkloadRef('deployment/.'), /"\." is not a valid deployment name/, /lower case/);
    invalid(() => parseWorkloadRef('deployment/..'), /"\.\." is not a valid deployment name/);
    invalid(() => parseWorkloadRef('Web'), /"Web" is not a valid deployment name/);
    invalid(() => parseWorkloadRef(`cronjob/${'c'.repeat(53)}`), /longer than 52 characters/);
    assert.equal(parseWorkloadRef(`cronjob/${'c'.repeat(52)}`).name.length, 52);
    invalid(() => parseWorkloadRef(`job/${'j'.repeat(64)}`), /longer than 63 characters/);
    assert.equal(parseWorkloadRef(`deployment/${'d'.repeat(200)}`).name.length, 200);
  });
});

describe('numeric flags', () => {
  it('--timeout: positive seconds, at most a day, as milliseconds', () => {
    assert.equal(parseSecondsFlag('--timeout', '180'), 180_000);
    assert.equal(parseSecondsFlag('--timeout', '0.5'), 500);
    assert.equal(parseSecondsFlag('--timeout', 60), 60_000);
    for (const bad of ['abc', '-5', '0', '', ' ', '1e3', '0x10', 'Infinity', 'NaN', '86401', '5s']) {
      invalid(() => parseSecondsFlag('--timeout', bad), new RegExp(`^--timeout ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), /Give --timeout a positive number of seconds/);
    }
  });
  it('ports and counts are whole numbers in range', () => {
    assert.equal(parsePortFlag('localPort', '8080'), 8080);
    for (const bad of ['0', '65536', '80.5', 'http', '-1']) invalid(() => parsePortFlag('localPort', bad), /^localPort /, /from 1 to 65535/);
    assert.equal(parseCountFlag('--tail', '0'), 0);
    for (const bad of ['-1', '2.5', 'all']) invalid(() => parseCountFlag('--tail', bad), /^--tail /, /whole number/);
  });
  it('core refuses a timeout that is not a positive finite number of milliseconds', () => {
    checkTimeoutMs('dev start', undefined);
    checkTimeoutMs('dev start', 1000);
    invalid(() => parseSecondsFlag('--timeout', '-5'), /^--timeout -5: not a positive number$/);
    for (const bad of [NaN, -5000, 0, Infinity]) invalid(() => checkTimeoutMs('dev start', bad), /^dev start: .* is not a valid timeout/);
  });
});

const TEMPLATE = `name: typed
parameters:
  replicas: { default: 1 }
  ratio: { default: 0.5 }
  heap: { default: 256Mi, type: quantity }
  debug: { default: false }
  greeting: { default: Hi }
workloads: [{ name: web }]
`;
const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: \${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: kdev.local/node:18
          env: [{ name: GREETING, value: "\${greeting}" }]
          resources: { requests: { memory: "\${heap}" } }
`;

function typedTemplate(manifest = MANIFEST, template = TEMPLATE): ReturnType<typeof loadTemplate> {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-typed-'));
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(join(dir, 'template.yaml'), template);
  writeFileSync(join(dir, 'manifests', 'web.yaml'), manifest);
  return loadTemplate(dir);
}

describe('env create --set values, before the namespace exists', () => {
  it('types parameters from their default, or from type: (quantity included)', () => {
    const { spec } = parseTemplateSpec(TEMPLATE, 't.yaml');
    assert.deepEqual(
      Object.fromEntries(Object.entries(spec.parameters).map(([k, p]) => [k, paramType(p)])),
      { replicas: 'integer', ratio: 'number', heap: 'quantity', debug: 'boolean', greeting: 'string' },
    );
  });
  it('refuses a default that is not of its declared type', () => {
    invalid(() => parseTemplateSpec('name: t\nparameters:\n  n: { default: lots, type: integer }\nworkloads: [{ name: a }]\n', 't.yaml'), /t\.yaml:3.*parameters\.n/);
  });
  it('refuses a --set value of the wrong type, naming the parameter and its type', () => {
    const t = typedTemplate();
    invalid(() => planTemplate(t, { env: 'e', set: { replicas: 'abc' } }), /^--set replicas=abc: expected an integer/, /replicas/);
    invalid(() => planTemplate(t, { env: 'e', set: { replicas: '1.5' } }), /expected an integer/);
    invalid(() => planTemplate(t, { env: 'e', set: { heap: 'lots' } }), /^--set heap=lots: expected a Kubernetes quantity/);
    invalid(() => planTemplate(t, { env: 'e', set: { debug: 'yes' } }), /^--set debug=yes: expected true or false/);
    invalid(() => planTemplate(t, { env: 'e', set: { ratio: 'half' } }), /^--set ratio=half: expected a number/);
    assert.equal(planTemplate(t, { env: 'e', set: { replicas: '3', heap: '1Gi', greeting: 'anything at all' } }).workloads[0]!.object.metadata?.name, 'web');
  });
  it('refuses quota and limit values that are not quantities', () => {
    const t = typedTemplate();
    invalid(() => planTemplate(t, { env: 'e', set: { 'quota.pods': 'lots' } }), /^--set quota\.pods=lots: not a Kubernetes quantity/, /500m, 256Mi/);
    invalid(() => planTemplate(t, { env: 'e', set: { 'quota.requests.cpu': '-1' } }), /not a Kubernetes quantity/);
    invalid(() => planTemplate(t, { env: 'e', set: { 'limits.default.memory': '12 GB' } }), /^--set limits\.default\.memory=12 GB: not a Kubernetes quantity/);
    assert.equal(planTemplate(t, { env: 'e', set: { 'quota.pods': '20', 'limits.max.cpu': '500m' } }).quota.pods, '20');
  });
  it('checks rendered replica counts and resources even when the parameter declares no type', () => {
    const untyped = TEMPLATE.replace('replicas: { default: 1 }', 'replicas: { default: "1" }').replace('heap: { default: 256Mi, type: quantity }', 'heap: { default: 256Mi }');
    const t = typedTemplate(MANIFEST, untyped);
    invalid(() => planTemplate(t, { env: 'e', set: { replicas: 'abc' } }), /Deployment\/web has replicas "abc", not a whole number/, /It comes from --set replicas=abc/);
    invalid(() => planTemplate(t, { env: 'e', set: { replicas: '-2' } }), /Deployment\/web has replicas -2/);
    invalid(() => planTemplate(t, { env: 'e', set: { heap: 'much' } }), /container web: resources\.requests\.memory is "much", not a Kubernetes quantity/, /--set heap=much/);
  });
});
