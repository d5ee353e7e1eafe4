// Asks the harness (the browser side, outside VS Code) for a screenshot or a click, and waits
// for its answer file. See test/vscode/harness.ts and requests.ts.
import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';

let nextId = 1;

export type Request =
  | { action: 'screenshot'; file: string; sidebarWidth?: number }
  | { action: 'contextMenu'; treeItem: string; menuItem: string }
  | { action: 'quickInput'; text: string }
  | { action: 'press'; key: string }
  | { action: 'folderDialog'; path: string }
  | { action: 'notificationButton'; button: string };

export async function ask(req: Request, timeoutMs = 60_000): Promise<unknown> {
  const dir = process.env.KDEV_HARNESS_DIR;
  if (!dir) throw new Error('KDEV_HARNESS_DIR is not set: run the suite with `npm run test:extension`');
  const id = nextId++;
  const answers = join(dir, 'answers');
  const file = join(answers, `${id}.json`);
  const answered = new Promise<void>((resolve, reject) => {
    const watcher = watch(answers, () => {
      if (existsSync(file)) done();
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`the harness did not answer ${JSON.stringify(req)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
  });
  console.log(`kdev-harness:${JSON.stringify({ id, ...req })}`);
  await answered;
  const answer = JSON.parse(readFileSync(file, 'utf8')) as { ok: boolean; value?: unknown; error?: string };
  if (!answer.ok) throw new Error(`harness: ${answer.error}`);
  return answer.value;
}
