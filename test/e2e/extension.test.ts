// The VS Code extension's own suite, run inside a real VS Code (code-server + headless
// chromium) by test/vscode/harness.ts, as part of `npm test`. Same as `npm run test:extension`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    assert.equal(Number(summary[3]), 0, 'no test failed in VS Code');
    assert.ok(Number(summary[2]) >= 9, `the whole suite ran (${summary[2]} passed)`);
    assert.equal(code, 0);
  });
});
