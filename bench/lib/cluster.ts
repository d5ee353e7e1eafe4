// The cluster a benchmark runs on: $KDEV_TEST_KUBECONFIG's when set, else the local cluster,
// started here if it is down (as `npm test` does).
import { up } from '@kdev/test/cluster/cluster.js';

/** Sets KDEV_TEST_KUBECONFIG (starting the local cluster when it is not set) and returns it. */
export async function useBenchCluster(): Promise<string> {
  process.env.KDEV_TEST_KUBECONFIG ??= (await up(() => undefined)).kubeconfig;
  return process.env.KDEV_TEST_KUBECONFIG;
}
