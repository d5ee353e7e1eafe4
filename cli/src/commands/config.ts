// kdev config schema | validate
import { Command } from 'commander';
import { configJsonSchema, inspectConfig } from '@kdev/core';
import { printJson, wantsJson } from '../context.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('the dev config (.kdev.yaml)');
  config
    .command('schema')
    .description('print the JSON Schema of .kdev.yaml (for editor completion)')
    .action(() => printJson(configJsonSchema()));
  config
    .command('validate')
    .argument('[file]', '.kdev.yaml to check (default: found from the current folder up)')
    .description('check a .kdev.yaml and show what it resolves to')
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const loaded = inspectConfig(file ?? process.cwd());
      if (wantsJson(cmd)) printJson(loaded);
      else if (!loaded.file) process.stdout.write('no .kdev.yaml found: defaults apply\n');
      else process.stdout.write(`${loaded.file}: valid (${Object.keys(loaded.config.dev).length} dev entries)\n`);
    });
}
