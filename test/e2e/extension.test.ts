// The VS Code extension's own suite, run inside a real VS Code (code-server + headless
// chromium) by test/vscode/harness.ts, as part of `npm test`. Same as `npm run test:extension`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeServerEntry, ensureTools } from '../vscode/install.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d.toString().replace(/^/gm, '    '));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? 1, output }));
  });
}

describe('VS Code extension in a real VS Code', () => {
  it('passes its suite inside code-server against the test cluster', { timeout: 20 * 60_000 }, async () => {
    const bundle = await run(process.execPath, ['esbuild.mjs'], join(ROOT, 'extension'));
    assert.equal(bundle.code, 0, 'bundling the extension');
    const { code, output } = await run(process.execPath, [join(ROOT, 'test', 'dist', 'vscode', 'harness.js')], ROOT);
    const summary = /suite exit code (\d+) \((\d+) passed, (\d+) failed\)/.exec(output);
    assert.ok(summary, 'the harness reports the suite result');
    // mocha's failure report (titles and errors) goes into the message, so a CI log names them
    const failing = output.slice(Math.max(0, output.search(/\d+ failing/))).split('\n').slice(0, 60).join('\n');
    assert.equal(Number(summary[3]), 0, `no test failed in VS Code:\n${failing}`);
    assert.ok(Number(summary[2]) >= 10, `the whole suite ran (${summary[2]} passed)`);
    assert.equal(code, 0);
  });

  it('packages a .vsix that installs offline with code-server --install-extension', { timeout: 5 * 60_000 }, async () => {
    await ensureTools((line) => console.log(`    ${line}`));
    const pack = await run('npm', ['run', 'package', '--silent', '-w', 'extension'], ROOT);
    assert.equal(pack.code, 0, 'npm run package -w extension');
    assert.match(pack.output, /Packaged: .*kdev\.vsix/);
    const tmp = mkdtempSync(join(tmpdir(), 'kdev-vsix-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, EXTENSIONS_GALLERY: '{}', XDG_DATA_HOME: join(tmp, 'data'), XDG_CONFIG_HOME: join(tmp, 'config'), XDG_CACHE_HOME: join(tmp, 'cache'), TMPDIR: join(tmp, 'tmp') };
      for (const d of ['data', 'config', 'cache', 'tmp']) mkdirSync(join(tmp, d));
      const dirs = ['--user-data-dir', join(tmp, 'user-data'), '--extensions-dir', join(tmp, 'extensions'), '--config', join(tmp, 'config.yaml')];
      const install = await run(process.execPath, [codeServerEntry(), ...dirs, '--install-extension', join(ROOT, 'extension', 'out', 'kdev.vsix')], ROOT, env);
      assert.equal(install.code, 0, 'code-server --install-extension');
      assert.match(install.output, /Extension 'kdev\.vsix' was successfully installed/);
      const list = await run(process.execPath, [codeServerEntry(), ...dirs, '--list-extensions', '--show-versions'], ROOT, env);
      assert.match(list.output, /^kdev\.kdev@0\.1\.0$/m);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
