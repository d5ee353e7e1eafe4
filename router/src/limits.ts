// The router's bounds. Every value has a default fit for one pod; main.ts reads overrides
// from the environment.
export interface Limits {
  /** Largest request head (request line + headers) accepted, bytes; larger → 431. */
  maxHeaderSize: number;
  /** Client connections open at once per listening port; more are closed on accept. */
  maxConnections: number;
  /** Time a client has to send a complete request head. */
  headersTimeoutMs: number;
  /** An idle client connection is closed after this long. */
  idleTimeoutMs: number;
  /** Time an upstream has to accept a connection before the request gets 502. */
  connectTimeoutMs: number;
  /** Concurrent HTTP/2 streams per client session. */
  maxConcurrentStreams: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeaderSize: 16 * 1024,
  maxConnections: 4096,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 120_000,
  connectTimeoutMs: 5_000,
  maxConcurrentStreams: 256,
};

export type Log = (line: string) => void;
