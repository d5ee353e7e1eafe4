// What the suite inside the extension host may ask of the browser side of the harness:
// things only the workbench page can do (screenshots, mouse and keyboard).
import { mkdirSync } from 'node:fs';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import type { Page } from 'playwright-core';

export type HarnessRequest =
  /** A picture of the workbench into docs/, with the side bar `sidebarWidth` px wide. */
  | { id: number; action: 'screenshot'; file: string; sidebarWidth?: number }
  /** Right-clicks the row of a tree item (by its label) and picks a context menu entry. */
  | { id: number; action: 'contextMenu'; treeItem: string; menuItem: string }
  /** Types into the focused quick input (a quick pick or the simple file dialog) and accepts. */
  | { id: number; action: 'quickInput'; text: string }
  | { id: number; action: 'press'; key: string }
  /**
   * Picks a folder in VS Code's simple file dialog (what showOpenDialog is in a remote
   * window): types the path, lets the dialog navigate there, accepts.
   */
  | { id: number; action: 'folderDialog'; path: string }
  /** Clicks a button of a notification toast, by its exact label. */
  | { id: number; action: 'notificationButton'; button: string };

function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

/** Only files under docs/ of the repository are written. */
/**
 * Where a screenshot goes: the docs/ file it names with KDEV_RECORD_DOCS=1 (`npm run
 * record:vscode`), else the run's scratch folder, so a test run leaves the checkout as it was.
 */
function docsPath(root: string, tmp: string, file: string): string {
  const rel = normalize(file);
  if (isAbsolute(rel) || !rel.startsWith('docs/') || rel.includes('..')) throw new Error(`screenshots go under docs/: ${file}`);
  return recordingDocs() ? join(root, rel) : join(tmp, rel);
}

/** True when this run re-makes the committed screenshots and the activation figure. */
export function recordingDocs(): boolean {
  return process.env.KDEV_RECORD_DOCS === '1';
}

/** Drags the sash on the side bar's right edge. */
async function resizeSidebar(page: Page, width: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  const edge = box.x + box.width;
  await page.mouse.move(edge, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + width, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
}

export async function handleRequest(page: Page, req: HarnessRequest, root: string, tmp: string): Promise<unknown> {
  try {
    return await handle(page, req, root, tmp);
  } catch (err) {
    // A picture of the moment it failed helps more than the timeout's text.
    await page.screenshot({ path: join(tmp, `request-${req.id}-failed.png`) }).catch(() => undefined);
    throw err;
  }
}

async function handle(page: Page, req: HarnessRequest, root: string, tmp: string): Promise<unknown> {
  switch (req.action) {
    case 'screenshot': {
      const path = docsPath(root, tmp, req.file);
      mkdirSync(dirname(path), { recursive: true });
      if (req.sidebarWidth) await resizeSidebar(page, req.sidebarWidth);
      await page.mouse.move(1, 1); // no hover highlight in the picture
      await page.waitForTimeout(500); // the sash's hover highlight fades out
      await page.screenshot({ path });
      return path;
    }
    case 'contextMenu': {
      // The row whose label is exactly the item's ("web" must not match "web-5d8f...").
      const row = page.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: exactly(req.treeItem) }) }).first();
      const item = page.locator('.monaco-menu .action-item', { hasText: req.menuItem }).first();
      // The menu follows the row's rendered state, which may lag a moment behind the change
      // the suite just saw in the extension host (e.g. Wake appears once "sleeping" is drawn).
      for (let attempt = 1; ; attempt++) {
        await row.click({ button: 'right', timeout: 20_000 });
        const shown = await item.waitFor({ state: 'visible', timeout: 5_000 }).then(
          () => true,
          () => false,
        );
        if (shown) break;
        await page.keyboard.press('Escape');
        if (attempt === 3) throw new Error(`the context menu of "${req.treeItem}" has no "${req.menuItem}"`);
        await page.waitForTimeout(1000);
      }
      // A menu ignores the mouse for a moment after it opens (so the right-click's own release
      // never picks an entry): hover first, let it settle, then click.
      await item.hover();
      await page.waitForTimeout(300);
      await item.click();
      await page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 5_000 });
      return true;
    }
    case 'quickInput': {
      const input = page.locator('.quick-input-widget .quick-input-box input').first();
      await input.waitFor({ state: 'visible', timeout: 20_000 });
      await input.fill(req.text);
      await input.press('Enter');
      return true;
    }
    case 'press':
      await page.keyboard.press(req.key);
      return true;
    case 'notificationButton': {
      const button = page.locator('.notification-toast .monaco-button', { hasText: exactly(req.button) }).first();
      await button.click({ timeout: 20_000 });
      return true;
    }
    case 'folderDialog': {
      const widget = page.locator('.quick-input-widget');
      const input = widget.locator('.quick-input-box input').first();
      await input.waitFor({ state: 'visible', timeout: 20_000 });
      // The dialog fills in its start folder a moment after it shows: typing before that
      // would be overwritten.
      await page.waitForFunction("document.querySelector('.quick-input-widget .quick-input-box input')?.value.length > 0", undefined, { timeout: 10_000 });
      const path = req.path.endsWith('/') ? req.path : `${req.path}/`;
      for (let attempt = 1; ; attempt++) {
        await input.fill(path);
        // It lists the typed folder asynchronously; accepting before that would accept the
        // folder it was showing before.
        await page.waitForTimeout(1000);
        if ((await input.inputValue()) === path) {
          await input.press('Enter');
          const hidden = await widget.waitFor({ state: 'hidden', timeout: 5_000 }).then(
            () => true,
            () => false,
          );
          if (hidden) return true;
        }
        if (attempt === 3) throw new Error(`the folder dialog did not accept ${path}`);
      }
    }
  }
}
