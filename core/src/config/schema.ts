// The dev config: `.kdev.yaml` at the project root. One entry per workload under `dev`,
// keyed by "kind/name" (a bare name means a Deployment). Exported as JSON Schema by
// `kdev config schema` for editor completion.
import { z } from 'zod';

const quantity = z.union([z.string(), z.number()]).transform((v) => String(v));
const resourceList = z
  .object({
    cpu: quantity.optional().describe('CPU as a Kubernetes quantity, e.g. 500m or 1.'),
    memory: quantity.optional().describe('Memory as a Kubernetes quantity, e.g. 512Mi.'),
  })
  .strict();

export const portSpec = z
  .union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}(:\d{1,5})?$/, 'a port is "remote" or "local:remote", e.g. "8080:80"')])
  .describe('A port-forward: remote port, or "local:remote".');

export const syncSchema = z
  .object({
    local: z.string().default('.').describe('Local folder to sync, relative to the config file.'),
    mode: z.enum(['send-only', 'two-way']).default('send-only').describe('send-only (default): local → container. two-way: container changes come back.'),
    ignore: z.array(z.string()).default([]).describe('Extra ignore patterns (gitignore syntax), on top of .gitignore layers and .git/info/exclude.'),
    deleteLocal: z.boolean().default(false).describe('two-way only: remote deletions delete local files.'),
  })
  .strict();

export const debugSchema = z
  .object({
    command: z.string().describe('Shell command that starts the app under its debugger.'),
    port: z.number().int().min(1).max(65535).describe('The debugger port inside the container.'),
    type: z.enum(['node', 'python', 'go', 'java']).describe('Which debugger answers on the port.'),
  })
  .strict();

export const devEntrySchema = z
  .object({
    container: z.string().optional().describe('Container to develop in; default: the first.'),
    image: z.string().optional().describe('Dev image, e.g. kdev.local/dev-node:18; default: the container\'s own image.'),
    workDir: z.string().startsWith('/').default('/app').describe('Where the source lives in the container.'),
    sync: syncSchema
      .default({ local: '.', mode: 'send-only', ignore: [], deleteLocal: false })
      .describe('What to sync from the local folder into workDir, and how.'),
    ports: z.array(portSpec).default([]).describe('Port-forwards opened while dev start is attached and during dev run; they follow the dev pod when it is replaced.'),
    run: z.string().optional().describe('Shell command the supervisor runs (kdev dev run); restarted after each sync.'),
    restartOnSync: z.boolean().default(true).describe('Restart the run command after each applied sync batch.'),
    debug: debugSchema.optional().describe('The debug command (kdev dev debug): run under the supervisor, its port forwarded, an IDE attach configuration printed.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for the dev container.'),
    resources: z
      .object({
        requests: resourceList.optional().describe('Resource requests of the dev container.'),
        limits: resourceList.optional().describe('Resource limits of the dev container.'),
      })
      .strict()
      .optional()
      .describe('Resources of the dev container; default: the original container\'s.'),
    settle: z
      .number()
      .min(0)
      .max(600)
      .optional()
      .describe('Seconds the dev pod must stay Ready without a container restart before dev start succeeds; default 0 (Ready once is enough).'),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1).default(1).describe('Format version of this file; only 1 exists.'),
    namespace: z.string().optional().describe('Accepted and checked to be a string, but not read yet: commands take the namespace from -n or the kubeconfig context.'),
    dev: z
      .record(z.string().regex(/^([a-z]+\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a key is "kind/name" or "name"'), devEntrySchema)
      .default({})
      .describe('One entry per workload, keyed by "kind/name" (deployment/web, statefulset/db) or a bare name for a Deployment.'),
  })
  .strict();

export type DevConfig = z.infer<typeof configSchema>;
export type DevEntry = z.infer<typeof devEntrySchema>;
export type SyncConfig = z.infer<typeof syncSchema>;
export type DebugConfig = z.infer<typeof debugSchema>;

/** The JSON Schema of `.kdev.yaml`. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://kdev.dev/schema/kdev.json',
    title: 'kdev dev config (.kdev.yaml)',
    ...z.toJSONSchema(configSchema, { io: 'input' }),
  };
}
