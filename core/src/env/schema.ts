// template.yaml: the schema of an environment template (see templates/README.md).
import { z } from 'zod';
import { devEntrySchema } from '../config/schema.js';
import { PARAM_TYPES, paramType, typeProblem } from './values.js';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Names every template gets for free; a template may not declare them. */
export const BUILTIN_PARAMS = ['env', 'namespace'] as const;

/** "30m", "2h", "1d", "90s", "0" (never expires). */
export const DURATION = /^(0|\d+(\.\d+)?(s|m|h|d))$/;

const quantity = z.union([z.string().min(1), z.number()]).transform(String);
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
    dev: devEntrySchema.optional().describe('How to develop this service: a .kdev.yaml dev entry.'),
  })
  .strict();

export const templateSchema = z
  .object({
    name: z.string().regex(DNS_LABEL, 'a template name is a lower-case DNS label, e.g. "hello"').max(63),
    description: z.string().default(''),
    ttl: z.string().regex(DURATION, 'a duration such as "30m", "2h", "1d", or "0" for never').default('24h'),
    parameters: z
      .record(
        z.string().regex(PARAM_NAME, 'a parameter name matches [A-Za-z_][A-Za-z0-9_-]*').refine((n) => !(BUILTIN_PARAMS as readonly string[]).includes(n), 'env and namespace are built in'),
        z
          .object({
            default: z.union([z.string(), z.number(), z.boolean()]),
            type: z.enum(PARAM_TYPES).optional().describe('What --set accepts; default: the type of the default (a YAML number: integer or number; true/false: boolean; else string).'),
            description: z.string().optional(),
          })
          .strict()
          .superRefine((p, ctx) => {
            const problem = typeProblem(paramType(p.type, p.default), String(p.default));
            if (problem) ctx.addIssue({ code: 'custom', path: ['default'], message: `the default is ${problem}` });
          })
          .transform((p) => ({ default: String(p.default), type: paramType(p.type, p.default), description: p.description })),
      )
      .default({}),
    quota: z.record(z.string(), quantity).default({}).describe('ResourceQuota spec.hard, merged over kdev defaults.'),
    limits: z
      .object({ default: resourceItem.optional(), defaultRequest: resourceItem.optional(), max: resourceItem.optional(), min: resourceItem.optional() })
      .strict()
      .default({}),
    manifests: z.array(z.string().min(1)).default(['manifests']),
    workloads: z.array(templateWorkloadSchema).min(1, 'a template needs at least one workload'),
  })
  .strict();

export type TemplateSpec = z.infer<typeof templateSchema>;
export type TemplateWorkload = z.infer<typeof templateWorkloadSchema>;

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
