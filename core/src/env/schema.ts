// template.yaml: the schema of an environment template (see templates/README.md).
import { z } from 'zod';
import { devEntrySchema } from '../config/schema.js';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Names every template gets for free; a template may not declare them. */
export const BUILTIN_PARAMS = ['env', 'namespace'] as const;

/** "30m", "2h", "1d", "90s", "0" (never expires). */
export const DURATION = /^(0|\d+(\.\d+)?(s|m|h|d))$/;

const quantity = z.union([z.string().min(1), z.number()]).transform(String);
const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** Seconds a workload must stay Ready without a restart before it counts as ready. */
const settleSeconds = z.number().min(0).max(600);
export const DEFAULT_SETTLE_SECONDS = 5;
const resourceItem = z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict();

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const templateWorkloadSchema = z
  .object({
    name: z.string().regex(DNS_SUBDOMAIN, 'a workload name is a lower-case DNS name, e.g. "api"').max(253),
    kind: z.enum(WORKLOAD_KINDS).default('Deployment'),
    dependsOn: z.array(z.string()).default([]).describe('Workloads that must be Ready (a Job: Complete) before this one is applied.'),
    source: z.string().min(1).optional().describe("Folder (relative to the template) delivered into the container in a ConfigMap."),
    container: z.string().optional().describe('The container that receives the source; default: the first.'),
    sourcePath: z.string().startsWith('/').optional().describe('Where the source is mounted; default: dev.workDir, else /app.'),
    timeout: z.number().int().positive().max(3600).default(180).describe('Seconds to wait for Ready.'),
    settle: settleSeconds.optional().describe('Seconds its pods must stay Ready without a restart; default: the template\'s settle; 0: Ready once is enough.'),
    dev: devEntrySchema.optional().describe('How to develop this service: a .kdev.yaml dev entry.'),
  })
  .strict();

/** A port of a network exception: 5432 (TCP) or "53/UDP". */
const portSchema = z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}\/(TCP|UDP|SCTP)$/, 'a port is a number, or "<number>/TCP|UDP|SCTP"')]);

/** Another namespace's pods that an environment may connect to, or that may connect to it. */
export const networkPeerSchema = z
  .object({
    namespace: z.string().regex(DNS_LABEL, 'a namespace name is a lower-case DNS label').max(63),
    pods: z.record(z.string(), z.string()).optional().describe("Labels the peer's pods must have; default: every pod of the namespace."),
    ports: z.array(portSchema).optional().describe('Only these ports of the destination; default: every port.'),
  })
  .strict();

/** "open": anywhere but the kube-system pods other than DNS; "restricted": the environment itself and DNS. */
export const EGRESS_MODES = ['open', 'restricted'] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];

export const networkSchema = z
  .object({
    egress: z.enum(EGRESS_MODES).default('open').describe('open: connections to anywhere except kube-system pods other than DNS; restricted: only the environment itself and DNS (--set network.egress=restricted).'),
    allowFrom: z.array(networkPeerSchema).default([]).describe('Namespaces whose pods may connect to the environment (e.g. an ingress controller).'),
    allowTo: z.array(networkPeerSchema).default([]).describe('Namespaces the environment may connect to even when egress is restricted or they are kube-system (e.g. a shared database).'),
  })
  .strict();

export type NetworkSpec = z.infer<typeof networkSchema>;
export type NetworkPeer = z.infer<typeof networkPeerSchema>;
/** A parameter: a small JSON Schema of one scalar. */
export const templateParameterSchema = z
  .object({
    type: z.enum(['string', 'integer', 'number', 'boolean', 'quantity']).optional().describe('Default: the type of the default.'),
    default: scalar,
    description: z.string().optional(),
    enum: z.array(scalar).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    pattern: z.string().optional().describe('A regular expression a string value must match.'),
  })
  .strict();

/** A Helm chart whose `helm template` output is part of the environment. */
export const templateChartSchema = z
  .object({
    chart: z.string().min(1).describe('A chart folder or a packaged .tgz, relative to the template.'),
    release: z.string().regex(DNS_LABEL, 'a release name is a lower-case DNS label').max(53).optional().describe("Default: the template's name."),
    valuesFiles: z.array(z.string().min(1)).default([]).describe('Values files relative to the template, in order (after the chart\'s values.yaml).'),
    values: z.record(z.string(), z.unknown()).default({}).describe('Values; a string "${p}" is parameter p (typed), "${p}" inside text is substituted.'),
  })
  .strict();

/** A Kustomize folder whose `kustomize build` output is part of the environment. */
export const templateKustomizeSchema = z.union([
  z.string().min(1).transform((path) => ({ path, substitute: false })),
  z
    .object({
      path: z.string().min(1).describe('A folder with kustomization.yaml, relative to the template.'),
      substitute: z.boolean().default(false).describe('Replace ${param} in the built output, as in manifests.'),
    })
    .strict(),
]);

export const templateSchema = z
  .object({
    name: z.string().regex(DNS_LABEL, 'a template name is a lower-case DNS label, e.g. "hello"').max(63),
    description: z.string().default(''),
    ttl: z.string().regex(DURATION, 'a duration such as "30m", "2h", "1d", or "0" for never').default('24h'),
    parameters: z
      .record(
        z.string().regex(PARAM_NAME, 'a parameter name matches [A-Za-z_][A-Za-z0-9_-]*').refine((n) => !(BUILTIN_PARAMS as readonly string[]).includes(n), 'env and namespace are built in'),
        templateParameterSchema,
      )
      .default({}),
    quota: z.record(z.string(), quantity).default({}).describe('ResourceQuota spec.hard, merged over kdev defaults.'),
    limits: z
      .object({ default: resourceItem.optional(), defaultRequest: resourceItem.optional(), max: resourceItem.optional(), min: resourceItem.optional() })
      .strict()
      .default({}),
    network: networkSchema.default({ egress: 'open', allowFrom: [], allowTo: [] }),
    manifests: z.array(z.string().min(1)).optional().describe('Plain manifests; default: [manifests] unless charts or kustomize are given.'),
    charts: z.array(templateChartSchema).default([]),
    kustomize: z.array(templateKustomizeSchema).default([]),
    settle: settleSeconds.default(DEFAULT_SETTLE_SECONDS).describe('Seconds each workload must stay Ready without a restart (0: Ready once is enough).'),
    workloads: z.array(templateWorkloadSchema).default([]).describe('Order, readiness and dev config of the workloads; a chart or overlay\'s workloads need no entry.'),
  })
  .strict()
  // Plain manifests default to [manifests] only for a template without a chart or overlay.
  .transform((t) => ({ ...t, manifests: t.manifests ?? (t.charts.length === 0 && t.kustomize.length === 0 ? ['manifests'] : []) }));

export type TemplateSpec = z.infer<typeof templateSchema>;
export type TemplateWorkload = z.infer<typeof templateWorkloadSchema>;
export type TemplateParameter = z.infer<typeof templateParameterSchema>;
export type TemplateChart = z.infer<typeof templateChartSchema>;
export type TemplateKustomize = z.output<typeof templateKustomizeSchema>;

/** kdev's quota and limits when a template says nothing. */
export const DEFAULT_QUOTA: Readonly<Record<string, string>> = {
  pods: '50',
  'requests.cpu': '4',
  'requests.memory': '8Gi',
  'limits.cpu': '16',
  'limits.memory': '16Gi',
};
export const DEFAULT_LIMITS: Readonly<Record<'default' | 'defaultRequest', Record<string, string>>> = {
  default: { cpu: '500m', memory: '256Mi' },
  defaultRequest: { cpu: '10m', memory: '32Mi' },
};

/** Milliseconds of a duration string; 0 means never. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  if (n === 0) return 0;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'x') as 's'];
  return unit === undefined ? NaN : Math.round(n * unit);
}

/** The JSON Schema of template.yaml. */
export function templateJsonSchema(): Record<string, unknown> {
  return { $id: 'https://kdev.dev/schema/template.json', title: 'kdev environment template (template.yaml)', ...z.toJSONSchema(templateSchema, { io: 'input' }) };
}
