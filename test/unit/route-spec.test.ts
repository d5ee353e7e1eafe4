// The pure rules of routed duplicates (core/src/route/spec.ts): the --route argument, which
// Services front a workload, how their ports go through the router, the table it gets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTable } from '@kdev/router';
import { curlLine, isKdevError, parseRouteSpec, portProtocol, renderTable, routerPorts, selects, withRoute, type HeldRoute } from '@kdev/core/internals';

const kdevError = (code: string, pattern: RegExp) => (err: unknown) => isKdevError(err) && err.code === code && pattern.test(err.message) && (err.hint ?? '').length > 0;

describe('--route', () => {
  it('defaults to x-kdev-route with the user name', () => {
    assert.deepEqual(parseRouteSpec(true, 'system:serviceaccount:shop:alice'), { header: 'x-kdev-route', value: 'system:serviceaccount:shop:alice' });
  });
  it('takes a value, or header=value (the header lower-cased)', () => {
    assert.deepEqual(parseRouteSpec('bob', 'alice'), { header: 'x-kdev-route', value: 'bob' });
    assert.deepEqual(parseRouteSpec('X-Tenant=blue=1', 'alice'), { header: 'x-tenant', value: 'blue=1' });
  });
  it('refuses a bad header name or value', () => {
    assert.throws(() => parseRouteSpec('x y=1', 'a'), kdevError('INVALID', /not an HTTP header name/));
    assert.throws(() => parseRouteSpec(':path=1', 'a'), kdevError('INVALID', /not an HTTP header name/));
    assert.throws(() => parseRouteSpec('x-kdev-route=', 'a'), kdevError('INVALID', /not a usable header value/));
    assert.throws(() => parseRouteSpec('x-kdev-route=a\nb', 'a'), kdevError('INVALID', /not a usable header value/));
    assert.throws(() => parseRouteSpec('é', 'a'), kdevError('INVALID', /not a usable header value/));
    assert.throws(() => parseRouteSpec('v'.repeat(257), 'a'), kdevError('INVALID', /at most 256/));
  });
});

describe('which Services front a workload', () => {
  it('a selector that is a subset of the pod labels, never an empty one', () => {
    assert.equal(selects({ app: 'web' }, { app: 'web', tier: 'x' }), true);
    assert.equal(selects({ app: 'web', tier: 'y' }, { app: 'web', tier: 'x' }), false);
    assert.equal(selects({}, { app: 'web' }), false);
    assert.equal(selects(undefined, { app: 'web' }), false);
  });
});

describe('router ports', () => {
  it('http unless appProtocol or the port name says otherwise', () => {
    assert.equal(portProtocol({}), 'http');
    assert.equal(portProtocol({ name: 'http' }), 'http');
    assert.equal(portProtocol({ name: 'grpc-api' }), 'http');
    assert.equal(portProtocol({ name: 'https' }), 'tcp');
    assert.equal(portProtocol({ name: 'tcp-db' }), 'tcp');
    assert.equal(portProtocol({ name: 'postgres' }), 'tcp');
    assert.equal(portProtocol({ name: 'http', appProtocol: 'kubernetes.io/h2c' }), 'http');
    assert.equal(portProtocol({ name: 'http', appProtocol: 'mysql' }), 'tcp');
  });
  it('one router port per target, named targets resolved, tcp when any Service says so', () => {
    const ports = routerPorts(
      'deployment/web',
      [
        { name: 'web', selector: {}, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'tls', port: 443, targetPort: 8443 }] },
        { name: 'web-int', selector: {}, ports: [{ port: 8080 }, { name: 'https', port: 9443, targetPort: 8443 }] },
      ],
      [{ name: 'http', containerPort: 8080 }, { name: 'tls', containerPort: 8443 }],
    );
    assert.deepEqual(ports, [
      { port: 8080, protocol: 'http', names: ['http'] },
      { port: 8443, protocol: 'tcp', names: ['tls'] },
    ]);
  });
  it('refuses UDP and a target no container names', () => {
    assert.throws(() => routerPorts('deployment/dns', [{ name: 'dns', selector: {}, ports: [{ port: 53, protocol: 'UDP' }] }], []), kdevError('INVALID', /service\/dns has a UDP port/));
    assert.throws(() => routerPorts('deployment/web', [{ name: 'web', selector: {}, ports: [{ port: 80, targetPort: 'web' }] }], []), kdevError('INVALID', /targets "web", which no container/));
  });
});

describe('routes and the table', () => {
  const alice: HeldRoute = { owner: 'alice', header: 'x-kdev-route', value: 'alice', service: 'web-kdev-a' };
  it('one route per developer; the same header and value of another developer is a conflict', () => {
    const bob: HeldRoute = { owner: 'bob', header: 'x-kdev-route', value: 'bob', service: 'web-kdev-b' };
    assert.deepEqual(withRoute([alice], bob, 'deployment/web'), [alice, bob]);
    assert.deepEqual(withRoute([alice, bob], { ...alice, value: 'alice2' }, 'deployment/web'), [bob, { ...alice, value: 'alice2' }]);
    assert.throws(() => withRoute([alice], { ...bob, value: 'alice' }, 'deployment/web'), kdevError('CONFLICT', /already routes to the duplicate of deployment\/web that alice runs/));
  });
  it('http ports carry the routes, tcp ports only the default', () => {
    const text = renderTable([{ port: 8080, protocol: 'http', names: [] }, { port: 5432, protocol: 'tcp', names: [] }], '10.96.0.9', [{ ...alice, ip: '10.96.0.7' }]);
    assert.equal(parseTable(text).ports[0]!.routes[0]!.upstream.key, '10.96.0.7:8080', 'the router accepts the table');
    const table = JSON.parse(text) as unknown;
    assert.deepEqual(table, {
      ports: [
        { listen: 8080, protocol: 'http', default: ['10.96.0.9:8080'], routes: [{ header: 'x-kdev-route', value: 'alice', upstream: '10.96.0.7:8080' }] },
        { listen: 5432, protocol: 'tcp', default: '10.96.0.9:5432' },
      ],
    });
  });
});

describe('the curl line of a route', () => {
  it('names a port other than 80 and escapes a quote in the value for the shell', () => {
    assert.equal(curlLine({ header: 'x-tenant', value: 'blue' }, { name: 'api', namespace: 'shop', port: 8080 }), "curl -H 'x-tenant: blue' http://api.shop:8080/");
    assert.equal(curlLine({ header: 'x-kdev-route', value: "o'hara" }, { name: 'web', namespace: 'dev', port: 80 }), `curl -H 'x-kdev-route: o'\\''hara' http://web.dev/`);
  });
});
