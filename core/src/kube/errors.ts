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
  const tls = tlsError(String(code ?? cause ?? ''), message, doing, server, err);
  if (tls) return tls;
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

/** Server certificates the kubeconfig's certificate authority does not vouch for. */
const UNTRUSTED_CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** TLS failures in plain words (what OpenSSL says stays in the cause). */
function tlsError(code: string, message: string, doing: string, server: string | undefined, err: unknown): KdevError | undefined {
  const at = server ? ` at ${server}` : '';
  const fresh = 'Fetch a fresh kubeconfig for this cluster (from its admin or provider), or pass --context for another one.';
  if (UNTRUSTED_CERT.has(code) || /unable to verify the first certificate|self[- ]signed certificate/i.test(message)) {
    return new KdevError('TLS', `${doing}: the cluster${at} is not the one the kubeconfig trusts: its certificate is not signed by the kubeconfig's certificate authority`, fresh, { cause: err });
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new KdevError('TLS', `${doing}: the certificate of the cluster${at} has expired or is not valid yet`, 'Check the clock of this machine; otherwise the cluster\'s certificate needs renewing.', { cause: err });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new KdevError('TLS', `${doing}: the cluster's certificate is not valid for the address${at}`, 'The kubeconfig\'s server address must be one the certificate names: use the address the cluster\'s kubeconfig gives.', { cause: err });
  }
  if (code.startsWith('ERR_OSSL') || /PEM routines|routines::/.test(message)) {
    return new KdevError('TLS', `${doing}: the certificate data in the kubeconfig cannot be used (not a valid PEM certificate or key)`, fresh, { cause: err });
  }
  if (code.startsWith('ERR_SSL_TLSV1_ALERT') || /alert (bad|unknown) certificate|certificate required/i.test(message)) {
    return new KdevError('TLS', `${doing}: the cluster${at} did not accept our client certificate`, 'Refresh the kubeconfig credentials or log in again.', { cause: err });
  }
  return undefined;
}
