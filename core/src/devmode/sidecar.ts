// Dev mode injects the file-sync sidecar next to the dev container, sharing its source
// and control volumes; its code travels in a ConfigMap (see core/src/sync/sidecar.ts).
import { ensureSidecarConfigMap, ensureSyncToken, syncSidecarParts } from '../sync/sidecar.js';
import type { SidecarInjection } from './engine.js';
import { SOURCE_VOLUME } from './patch.js';

export function syncSidecarInjection(opts: { image?: string } = {}): SidecarInjection {
  const parts = syncSidecarParts({ image: opts.image, workDirVolume: SOURCE_VOLUME });
  return {
    containers: [parts.container],
    volumes: parts.volumes,
    annotations: parts.podAnnotations,
    prepare: async (cluster, namespace) => {
      await ensureSidecarConfigMap(cluster, namespace);
      await ensureSyncToken(cluster, namespace);
    },
  };
}
