// Running a command in a container and collecting its output and exit code.
import { Writable, Readable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
}

/** The exit code carried by the final status of an exec stream. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

/**
 * Runs `command` in a container, optionally feeding `stdin`, and resolves when it exits.
 * A non-zero exit is a result, not an error; failing to start the command is an error.
 */
export function execCapture(
  cluster: Cluster,
  pod: string,
  container: string,
  command: string[],
  opts: { namespace?: string; stdin?: string | Buffer } = {},
): Promise<ExecResult> {
  const namespace = opts.namespace ?? cluster.namespace;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const input = opts.stdin === undefined ? null : Readable.from([Buffer.from(opts.stdin)]);
  return new Promise<ExecResult>((resolve, reject) => {
    let status: V1Status | undefined;
    new Exec(cluster.kc)
      .exec(namespace, pod, container, command, collector(out), collector(err), input, false, (s) => {
        status = s;
      })
      .then((ws) => {
        ws.on('close', () => {
          resolve({
            stdout: Buffer.concat(out).toString(),
            stderr: Buffer.concat(err).toString(),
            exitCode: status ? exitCodeOf(status) : 1,
          });
        });
        ws.on('error', (e: Error) => reject(kubeError(e, `exec in ${pod}/${container}`, cluster.server)));
      })
      .catch((e: unknown) => reject(kubeError(e, `exec in ${pod}/${container}`, cluster.server)));
  });
}
