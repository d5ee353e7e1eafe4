// Pure rules of routed duplicates: the --route argument, which Services front a workload,
// and how each of their ports is handled by the router (header-routed http, or tcp passed
// through). No Kubernetes calls here: unit-tested in test/unit/route-spec.test.ts.
import { KdevError } from '../errors.js';

export const DEFAULT_ROUTE_HEADER = 'x-kdev-route';

export interface RouteSpec {
  header: string;
  value: string;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
// visible ASCII and spaces inside, as an HTTP header value must be (no CR, LF, NUL, controls)
const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * `--route [<header>=]<value>`: `true` (the flag alone) means the default header with the
 * developer's user name as the value. A value that is not a valid HTTP header value, or a
 * bad header name, is refused before anything changes.
 */
export function parseRouteSpec(text: string | true, owner: string): RouteSpec {
  const hint = 'Use --route <value> or --route <header>=<value>, e.g. --route x-kdev-route=alice (the header is a token: letters, digits, -).';
  let header = DEFAULT_ROUTE_HEADER;
  let value = owner;
  if (text !== true) {
    const eq = text.indexOf('=');
    if (eq >= 0) {
      header = text.slice(0, eq).trim().toLowerCase();
      value = text.slice(eq + 1).trim();
    } else value = text.trim();
  }
  if (!HEADER_NAME.test(header)) throw new KdevError('INVALID', `--route: "${header}" is not an HTTP header name`, hint);
  if (!HEADER_VALUE.test(value) || value.length > 256) throw new KdevError('INVALID', `--route: ${JSON.stringify(value)} is not a usable header value (visible ASCII, at most 256 characters)`, hint);
  return { header, value };
}

/** The part of a Service the plan needs. */
export interface ServiceFacts {
  name: string;
  /** The selector that selects the workload's pods (the saved one for a Service kdev switched). */
  selector: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }>;
}

export interface ContainerPortFacts {
  name?: string;
  containerPort: number;
}

export interface RouterPort {
  /** The pods' port the router listens on in their place. */
  port: number;
  protocol: 'http' | 'tcp';
  /** The names the workload's containers give this port (a Service's targetPort may name it). */
  names: string[];
}

/** Does the Service select the pods of a template with these labels? */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const HTTP_APP_PROTOCOLS = new Set(['http', 'http2', 'h2c', 'grpc', 'grpc-web', 'ws', 'kubernetes.io/h2c', 'kubernetes.io/ws']);
// Port-name prefixes (the convention of service meshes) that say the bytes are not plaintext HTTP.
const TCP_NAMES = /^(tcp|tls|https|grpcs|h2|mongo|mysql|postgres|redis|amqp|kafka|zookeeper|mqtt|nats|memcache|cassandra)([-_.]|$)/;

/** How the router treats one Service port: routed by header when it is (or may be) plaintext HTTP. */
export function portProtocol(p: { name?: string; appProtocol?: string }): 'http' | 'tcp' {
  if (p.appProtocol) return HTTP_APP_PROTOCOLS.has(p.appProtocol.toLowerCase()) ? 'http' : 'tcp';
  return p.name && TCP_NAMES.test(p.name.toLowerCase()) ? 'tcp' : 'http';
}

/**
 * The router's ports for the Services in front of a workload: each Service port's target
 * (a number, or a container port's name) is a port the router listens on. A port any Service
 * marks as not HTTP is passed through as tcp. UDP and SCTP cannot go through the router: such
 * a Service is refused, naming it.
 */
export function routerPorts(workload: string, services: ServiceFacts[], containerPorts: ContainerPortFacts[]): RouterPort[] {
  const byPort = new Map<number, RouterPort>();
  for (const svc of services) {
    for (const p of svc.ports) {
      if ((p.protocol ?? 'TCP') !== 'TCP') {
        throw new KdevError('INVALID', `service/${svc.name} has a ${p.protocol} port (${p.port}): its traffic cannot go through kdev's router`, `Routed duplicates need Services with TCP ports only; use --mode duplicate without --route for ${workload}.`);
      }
      const target = p.targetPort ?? p.port;
      const number = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : containerPorts.find((c) => c.name === target)?.containerPort;
      if (number === undefined) {
        throw new KdevError('INVALID', `service/${svc.name} port ${p.port} targets "${String(target)}", which no container of ${workload} names`, 'Fix the Service (or the container port name) first.');
      }
      const entry = byPort.get(number) ?? { port: number, protocol: 'http', names: [] };
      if (portProtocol(p) === 'tcp') entry.protocol = 'tcp';
      byPort.set(number, entry);
    }
  }
  for (const entry of byPort.values()) {
    entry.names = containerPorts.filter((c) => c.containerPort === entry.port && c.name).map((c) => c.name!);
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/** A route held by one developer. */
export interface HeldRoute extends RouteSpec {
  owner: string;
  /** The Service of the developer's duplicate (its cluster IP is the route's upstream). */
  service: string;
}

/** The router's table (router/src/table.ts) for these ports and routes. */
export function renderTable(ports: RouterPort[], originIp: string, routes: Array<HeldRoute & { ip: string }>): string {
  const table = {
    ports: ports.map((p) =>
      p.protocol === 'tcp'
        ? { listen: p.port, protocol: 'tcp', default: `${originIp}:${p.port}` }
        : { listen: p.port, protocol: 'http', default: [`${originIp}:${p.port}`], routes: routes.map((r) => ({ header: r.header, value: r.value, upstream: `${r.ip}:${p.port}` })) },
    ),
  };
  return `${JSON.stringify(table, null, 1)}\n`;
}

/** Adds a developer's route; another developer holding the same header and value is a conflict. */
export function withRoute(routes: HeldRoute[], route: HeldRoute, workload: string): HeldRoute[] {
  const clash = routes.find((r) => r.owner !== route.owner && r.header === route.header && r.value === route.value);
  if (clash) {
    throw new KdevError('CONFLICT', `${route.header}: ${route.value} already routes to the duplicate of ${workload} that ${clash.owner} runs`, 'Pick another value with --route <header>=<value>.');
  }
  return [...routes.filter((r) => r.owner !== route.owner), route];
}

/** A Service in front of a routed workload, as a UI shows it. */
export interface FrontService {
  name: string;
  namespace: string;
  /** The first port of the Service. */
  port: number;
}

/** `curl -H 'x-kdev-route: alice' http://web.shop/` (with the port when it is not 80): a request that reaches the route. */
export function curlLine(r: { header: string; value: string }, svc: FrontService): string {
  const quoted = `'${`${r.header}: ${r.value}`.replace(/'/g, `'\\''`)}'`;
  return `curl -H ${quoted} http://${svc.name}.${svc.namespace}${svc.port === 80 ? '' : `:${svc.port}`}/`;
}
