// Environment isolation as data: the NetworkPolicies built for each egress mode and the
// template's exceptions, the template's network section and --set network.egress, the
// lines `kdev env show` prints, and the probe's verdict from what its client saw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeNetwork, isKdevError, isolationPolicies, loadTemplate, networkSchema, parseTemplateSpec, planTemplate, verdictOf, type NetworkSpec } from '@kdev/core/internals';

type Rule = { from?: Record<string, unknown>[]; to?: Record<string, unknown>[]; ports?: { protocol: string; port: number }[] };
type Policy = { metadata: { name: string; namespace: string }; spec: { podSelector: unknown; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] } };

const spec = (over: Partial<NetworkSpec> = {}): NetworkSpec => ({ ...networkSchema.parse({}), ...over });

function policies(network: NetworkSpec, podCidrs: string[] = []): { ingress: Policy; egress: Policy } {
  const [ingress, egress] = isolationPolicies('env-a', network, { podCidrs }) as unknown as Policy[];
  return { ingress: ingress!, egress: egress! };
}

describe('isolation policies', () => {
  it('admit every pod of the namespace but the probe client, and nothing else by default', () => {
    const { ingress } = policies(spec());
    assert.equal(ingress.metadata.name, 'kdev-isolate');
    assert.equal(ingress.metadata.namespace, 'env-a');
    assert.deepEqual(ingress.spec.podSelector, {});
    assert.deepEqual(ingress.spec.policyTypes, ['Ingress']);
    assert.deepEqual(ingress.spec.ingress, [{ from: [{ podSelector: { matchExpressions: [{ key: 'kdev.dev/probe', operator: 'NotIn', values: ['client'] }] } }] }]);
  });

  it('open egress: the namespace, DNS, every namespace but kube-system, and outside the pod ranges', () => {
    const { egress } = policies(spec(), ['10.88.0.0/16', 'fd00::/64']);
    assert.deepEqual(egress.spec.policyTypes, ['Egress']);
    const rules = egress.spec.egress!;
    assert.deepEqual(rules[0], { to: [{ podSelector: {} }] });
    assert.deepEqual(rules[1], {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
    assert.deepEqual(rules[2], { to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] } }] });
    assert.deepEqual(rules[3], { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.88.0.0/16'] } }, { ipBlock: { cidr: '::/0', except: ['fd00::/64'] } }] });
    assert.equal(rules.length, 4);
  });

  it('restricted egress: only the namespace and DNS', () => {
    const { egress } = policies(spec({ egress: 'restricted' }), ['10.88.0.0/16']);
    assert.equal(egress.spec.egress!.length, 2);
    assert.deepEqual(egress.spec.egress![0], { to: [{ podSelector: {} }] });
    assert.ok(!JSON.stringify(egress).includes('ipBlock'));
  });

  it('exceptions become rules naming the namespace, the pods and the ports', () => {
    const network = spec({
      egress: 'restricted',
      allowTo: [{ namespace: 'shared-db', pods: { app: 'postgres' }, ports: [5432, '53/UDP'] }],
      allowFrom: [{ namespace: 'ingress-nginx' }],
    });
    const { ingress, egress } = policies(network);
    assert.deepEqual(ingress.spec.ingress![1], { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] });
    assert.deepEqual(egress.spec.egress![2], {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shared-db' } }, podSelector: { matchLabels: { app: 'postgres' } } }],
      ports: [
        { protocol: 'TCP', port: 5432 },
        { protocol: 'UDP', port: 53 },
      ],
    });
  });

  it('env show lists the egress mode and every exception', () => {
    const lines = describeNetwork(spec({ egress: 'restricted', allowTo: [{ namespace: 'shared-db', ports: [5432] }], allowFrom: [{ namespace: 'ingress-nginx', pods: { app: 'nginx' } }] }));
    assert.deepEqual(lines, [
      'ingress: from the environment itself',
      'ingress exception: from namespace ingress-nginx pods app=nginx',
      'egress: restricted (the environment itself and DNS only)',
      'egress exception: to namespace shared-db ports 5432',
    ]);
  });
});

describe('template network section and --set network.egress', () => {
  const base = 'name: t\nworkloads: [{ name: a }]\n';

  it('defaults to open egress and no exceptions', () => {
    assert.deepEqual(parseTemplateSpec(base, 't.yaml').spec.network, { egress: 'open', allowFrom: [], allowTo: [] });
  });

  it('rejects a bad egress mode, namespace or port with the line', () => {
    for (const [text, pattern] of [
      ['network: { egress: closed }\n', /t\.yaml:3: network\.egress/],
      ['network:\n  allowTo: [{ namespace: Shared_DB }]\n', /t\.yaml:4: network\.allowTo\.0\.namespace: a namespace name is a lower-case DNS label/],
      ['network:\n  allowTo: [{ namespace: db, ports: ["x/TCP"] }]\n', /network\.allowTo\.0\.ports\.0/],
      ['network: { egres: open }\n', /network/],
    ] as const) {
      assert.throws(() => parseTemplateSpec(base + text, 't.yaml'), (err: unknown) => isKdevError(err) && pattern.test(err.message), text);
    }
  });

  it('--set network.egress=restricted overrides the template; other values and keys are errors', () => {
    const hello = loadTemplate('hello');
    assert.equal(planTemplate(hello, { env: 'e', set: {} }).network.egress, 'open');
    assert.equal(planTemplate(hello, { env: 'e', set: { 'network.egress': 'restricted' } }).network.egress, 'restricted');
    assert.equal(hello.spec.network.egress, 'open', 'the loaded template is not changed by a plan');
    assert.throws(() => planTemplate(hello, { env: 'e', set: { 'network.egress': 'closed' } }), /expected open or restricted/);
    assert.throws(() => planTemplate(hello, { env: 'e', set: { 'network.allowTo': 'x' } }), /unknown network setting/);
  });
});

describe('the probe verdict', () => {
  it('refused connection refused: enforced', () => {
    assert.equal(verdictOf({ control: 'open', refused: ['timeout'] }).enforced, true);
    assert.equal(verdictOf({ control: 'open', refused: ['open', 'timeout'] }).enforced, true, 'a first pass before the engine saw the pod is retried');
    assert.equal(verdictOf({ control: 'open', refused: ['ECONNRESET'] }).enforced, true);
  });
  it('refused connection opened every time: not enforced', () => {
    const v = verdictOf({ control: 'open', refused: ['open', 'open'] });
    assert.equal(v.enforced, false);
    assert.match(v.detail, /does not enforce NetworkPolicy/);
  });
  it('no control connection or no report: cannot tell', () => {
    assert.equal(verdictOf({ control: 'timeout', refused: ['open'] }).enforced, undefined);
    assert.equal(verdictOf({}).enforced, undefined);
  });
});
