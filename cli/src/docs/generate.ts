// npm run docs:cli: writes docs/cli.md from the command tree; `--stdout` prints it instead.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../program.js';
import { cliReference } from './reference.js';

/** <repo>/docs/cli.md, from cli/dist/docs/generate.js */
export const CLI_DOC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'cli.md');

const text = cliReference(buildProgram());
if (process.argv.includes('--stdout')) process.stdout.write(text);
else {
  writeFileSync(CLI_DOC, text);
  process.stdout.write(`wrote ${CLI_DOC}\n`);
}
