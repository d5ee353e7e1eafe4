import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { KdevApi } from '../../extension.js';

export async function kdevApi(): Promise<KdevApi> {
  const ext = vscode.extensions.getExtension<KdevApi>('kdev.kdev');
  assert.ok(ext, 'the extension under development is loaded');
  return ext.activate();
}

suite('activation', () => {
  test('activates, exports its API, and registers its commands and view', async () => {
    const ext = vscode.extensions.getExtension<KdevApi>('kdev.kdev');
    assert.ok(ext, 'the extension kdev.kdev is loaded');
    assert.equal(ext.isActive, false, 'nothing activates kdev before its view is opened');
    const t0 = performance.now();
    const api = await ext.activate();
    const wall = performance.now() - t0;
    assert.ok(ext.isActive);
    // Wall time of ext.activate(): loading the bundle (core and client-node) plus activate().
    console.log(`kdev-activation-ms: ${wall.toFixed(1)}`);
    console.log(`activation: ${wall.toFixed(1)} ms wall (activate() itself reports ${api.activationMs} ms from module load)`);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['kdev.refresh', 'kdev.showLog']) assert.ok(commands.includes(id), `${id} is registered`);
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    assert.ok(commands.includes('kdev.workloads.focus'), 'the kdev.workloads view exists');
  });
});
