// The container security context of what kdev itself runs in a user's pods and namespaces
// (the sync sidecar, the header router): least privilege.
import type { V1SecurityContext } from '@kubernetes/client-node';

/** The uid (and gid) kdev's own containers run as: not root, not the app's usual 1000. */
export const KDEV_UID = 65532;

/** A non-root user, no capabilities, no privilege escalation, nothing writable but volumes. */
export function restrictedSecurityContext(): V1SecurityContext {
  return {
    runAsUser: KDEV_UID,
    runAsGroup: KDEV_UID,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
