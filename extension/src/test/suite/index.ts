// The mocha suite that runs inside VS Code's extension host (loaded through the payload's
// extensionTestsPath by test/vscode/harness.ts). Test files are bundled in; requiring them
// after mocha's pre-require defines the tdd globals (suite, test, suiteSetup...) for them.
import Mocha from 'mocha';

export async function run(): Promise<void> {
  // KDEV_SUITE_GREP (passed through by the harness) runs only the matching tests.
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 180_000, reporter: 'spec', ...(process.env.KDEV_SUITE_GREP ? { grep: process.env.KDEV_SUITE_GREP } : {}) });
  mocha.suite.emit('pre-require', globalThis, 'kdev-extension-suite', mocha);
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('./activation.test.js');
  require('./tree.test.js');
  require('./devmode.test.js');
  require('./routes.test.js');
  require('./environments.test.js');
  require('./sessions.test.js');
  require('./debugtypes.test.js');
  require('./badinput.test.js');
  require('./parity.test.js');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run((n) => resolve(n));
    runner.on('end', () => console.log(`kdev-suite: ${runner.stats?.passes ?? 0} passed, ${runner.stats?.failures ?? 0} failed`));
  });
  if (failures > 0) throw new Error(`${failures} test(s) failed`);
}
