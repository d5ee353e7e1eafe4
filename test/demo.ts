// `npm run demo`: the local cluster up (if no cluster is configured), then its nodes and
// namespaces, read through @kdev/core.
import { connect, isKdevError, listNamespaces, listNodes } from '@kdev/core';
import { up } from './cluster/cluster.js';
import { StepError } from './cluster/steps.js';

async function main(): Promise<void> {
  let kubeconfig = process.env.KDEV_TEST_KUBECONFIG;
  if (!kubeconfig) {
    console.log('Starting the local cluster (the first run builds it; see README) …');
    const result = await up((line) => console.log(`  ${line}`));
    kubeconfig = result.kubeconfig;
  }
  const cluster = connect({ kubeconfig });
  console.log(`\nCluster ${cluster.server} (context ${cluster.contextName})\n\nNodes:`);
  for (const n of await listNodes(cluster)) {
    console.log(`  ${n.name}  ${n.ready ? 'Ready' : 'NotReady'}  ${n.version}  ${n.internalIP ?? ''}  ${n.runtime}`);
  }
  console.log('\nNamespaces:');
  for (const ns of await listNamespaces(cluster)) console.log(`  ${ns.name}  ${ns.phase}`);
  console.log(`\nTry it:  export KUBECONFIG=${kubeconfig}`);
}

main().catch((err: unknown) => {
  if (err instanceof StepError) console.error(`✗ the local cluster failed at step "${err.step}": ${err.message}\n  log: ${err.logPath}`);
  else if (isKdevError(err)) console.error(`✗ ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`);
  else console.error(err);
  process.exit(1);
});
