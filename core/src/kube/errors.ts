// Turns what the API client throws into a KdevError a user can act on.
import { KdevError } from '../errors.js';

interface StatusBody {
  message?: string;
  reason?: string;
}

function statusOf(err: unknown): { code: number; body: StatusBody } | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  if (typeof code !== 'number') return undefined;
  const raw = (err as { body?: unknown }).body;
  let body: StatusBody = {};
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw) as StatusBody;
    } catch {
      body = { message: raw };
    }
  } else if (typeof raw === 'object' && raw !== null) {
    body = raw as StatusBody;
  }
  return { code, body };
}

/** The HTTP status of an API error, if it is one. */
export function apiStatus(err: unknown): number | undefined {
  return statusOf(err)?.code;
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

/**
 * Wraps an API failure. `doing` says what we were doing ("reading deployment/web"),
 * `server` names the cluster for connection errors.
 */
export function kubeError(err: unknown, doing: string, server?: string): KdevError {
  if (err instanceof KdevError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    const detail = status.body.message ?? (err as Error).message;
    switch (status.code) {
      case 401:
        return new KdevError('UNAUTHORIZED', `${doing}: the cluster did not accept our credentials`, 'Refresh the kubeconfig credentials or log in again.', { cause: err });
      case 403:
        return new KdevError('FORBIDDEN', `${doing}: forbidden: ${detail}`, 'Your account lacks the RBAC permission for this; ask a cluster admin, or use a namespace you own.', { cause: err });
      case 404:
        return new KdevError('NOT_FOUND', `${doing}: not found${detail ? `: ${detail}` : ''}`, undefined, { cause: err });
      case 409:
        return new KdevError('CONFLICT', `${doing}: conflict: ${detail}`, 'Someone changed the object meanwhile; run the command again.', { cause: err });
      case 422:
      case 400:
        return new KdevError('INVALID', `${doing}: rejected by the API server: ${detail}`, undefined, { cause: err });
      default:
        return new KdevError('FAILED', `${doing}: the API server answered ${status.code}: ${detail}`, undefined, { cause: err });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const netCodes = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT'];
  if (netCodes.includes(String(code)) || netCodes.includes(String(cause)) || /ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|fetch failed/.test(message)) {
    return new KdevError(
      'UNREACHABLE',
      `${doing}: cannot reach the cluster${server ? ` at ${server}` : ''} (${message})`,
      'Is the cluster running and the kubeconfig current? For the local cluster run `npm run cluster:up`.',
      { cause: err },
    );
  }
  return new KdevError('FAILED', `${doing}: ${message}`, undefined, { cause: err });
}
