// The dev config: `.kdev.yaml` at the project root. One entry per workload under `dev`,
// keyed by "kind/name" (a bare name means a Deployment). Exported as JSON Schema by
// `kdev config schema` for editor completion.
import { z } from 'zod';

const quantity = z.union([z.string(), z.number()]).transform((v) => String(v));
const resourceList = z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict();

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
    image: z.string().optional().describe('Dev image; default: the image for the language, e.g. kdev.local/dev-node:18.'),
    workDir: z.string().startsWith('/').default('/app').describe('Where the source lives in the container.'),
    sync: syncSchema.default({ local: '.', mode: 'send-only', ignore: [], deleteLocal: false }),
    ports: z.array(portSpec).default([]),
    run: z.string().optional().describe('Shell command the supervisor runs (kdev dev run); restarted after each sync.'),
    restartOnSync: z.boolean().default(true).describe('Restart the run command after each applied sync batch.'),
    debug: debugSchema.optional(),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for the dev container.'),
    resources: z.object({ requests: resourceList.optional(), limits: resourceList.optional() }).strict().optional(),
    settle: z
      .number()
      .min(0)
      .max(600)
      .optional()
      .describe('Seconds the dev pod must stay Ready without a container restart before dev start succeeds; default 2; 0: Ready once is enough.'),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
    namespace: z.string().optional().describe('Default namespace for this project.'),
    dev: z.record(z.string().regex(/^([a-z]+\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a key is "kind/name" or "name"'), devEntrySchema).default({}),
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
