// `npm run cluster:up | cluster:down | cluster:status`
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { down, status, up } from './cluster.js';
import { buildRenderTools } from './build.js';
import { CACHE_DIR } from './config.js';
import { StepError } from './steps.js';

const report = (line: string) => console.log(line);

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const result = await up(report);
      if (result.alreadyUp) console.log(`The local cluster is already up (${result.seconds.toFixed(1)} s).`);
      else console.log(`The local cluster is up in ${result.seconds.toFixed(1)} s.`);
      console.log(`kubeconfig: ${result.kubeconfig}`);
      console.log(`  export KUBECONFIG=${result.kubeconfig}`);
      return 0;
    }
    case 'down':
      await down(report);
      console.log('The local cluster is down; its processes are stopped and its state removed (caches are kept).');
      return 0;
    case 'status': {
      console.log(JSON.stringify(await status(), null, 2));
      return 0;
    }
    case 'tools': {
      // helm and kustomize for environments' charts and overlays (no cluster needed).
      mkdirSync(join(CACHE_DIR, 'logs'), { recursive: true });
      const dirs = await buildRenderTools(join(CACHE_DIR, 'logs', 'render-tools.log'));
      console.log(`helm and kustomize are built; put them on PATH with:\n  export PATH=${dirs.join(':')}:$PATH`);
      return 0;
    }
    default:
      console.error('usage: cli.js up|down|status|tools');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof StepError) {
      console.error(`\n✗ cluster ${process.argv[2]} failed at step "${err.step}": ${err.message}\n  log: ${err.logPath}`);
    } else {
      console.error(`\n✗ cluster ${process.argv[2]} failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    process.exit(1);
  },
);
