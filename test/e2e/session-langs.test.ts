// Remote run and remote debug beyond Node, on the local cluster's dev images: a Python HTTP
// service answering with new code after a sync batch, and the debugger handshakes of
// debugpy (DAP), delve (JSON-RPC) and the JVM (JDWP), each through the forwarded port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ForwardManager,
  applyAll,
  dapMessage,
  dapMessages,
  probeDebugger,
  resolveDevTarget,
  runStatus,
  startDebug,
  startDevMode,
  startRun,
  stopRun,
  type Cluster,
  type SessionTarget,
} from '@kdev/core/internals';
import { nodeDeployment, tempNamespace } from '../lib/cluster.js';
import { deliver, save, startSync, untilBody } from '../lib/session.js';

const PY = (v: string) => `from http.server import BaseHTTPRequestHandler, HTTPServer

ANSWER = "py-${v}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ANSWER.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


print("serving ${v}", flush=True)
HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
`;

const GO = `package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "go") })
	http.ListenAndServe(":8080", nil)
}
`;

const JAVA = `public class Main {
  public static void main(String[] args) throws Exception {
    var server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress(8080), 0);
    server.createContext("/", x -> { byte[] b = "java".getBytes(); x.sendResponseHeaders(200, b.length); x.getResponseBody().write(b); x.close(); });
    server.start();
  }
}
`;

/** Sends raw bytes to a local port, collects until `done`; the collected bytes. */
function talk(port: number, send: string, done: (b: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(send));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer on :${port}; got ${JSON.stringify(got.toString())}`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (done(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('sessions (python, go, java)', { concurrency: true }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  const targets: Record<string, SessionTarget> = {};

  before(async () => {
    ns = await tempNamespace('kdev-session-langs');
    cluster = ns.cluster;
    await applyAll(cluster, ['py', 'go', 'java'].map((n) => nodeDeployment(ns.name, n, { container: 'app' })));
    const images: Record<string, string> = { py: 'kdev.local/dev-python:3.11', go: 'kdev.local/dev-go:1.19', java: 'kdev.local/dev-java:17' };
    const start = async ([name, image]: [string, string]) => {
      // python's edits go through the real sync; go and java get their files by exec
      await startDevMode(cluster, { workload: name, image, timeoutMs: 120_000 });
      targets[name] = await resolveDevTarget(cluster, name);
    };
    // The first start creates the namespace's sidecar ConfigMap (concurrent first starts
    // race on creating it: a 409 from ensureSidecarConfigMap); the others then in parallel.
    const [first, ...rest] = Object.entries(images);
    await start(first!);
    await Promise.all(rest.map(start));
  });

  after(async () => {
    await ns?.remove();
  });

  it('python: remote run answers with the new code after a sync batch (real sync); debugpy answers a DAP initialize', async () => {
    const t = targets.py!;
    const local = mkdtempSync(join(tmpdir(), 'kdev-session-py-'));
    const sync = await startSync(cluster, t, local);
    await save(sync, local, 'app.py', PY('v1'));
    const manager = new ForwardManager(cluster);
    try {
      assert.equal((await startRun(cluster, t, { command: 'python3 app.py' })).state, 'running');
      const fwd = await manager.add({ podSelector: t.podSelector }, { localPort: 0, remotePort: 8080 });
      assert.equal((await untilBody(fwd.localPort, (b) => b.startsWith('py-'), 20_000)).body, 'py-v1');
      await save(sync, local, 'app.py', PY('v2'));
      assert.equal((await untilBody(fwd.localPort, (b) => b === 'py-v2', 10_000)).body, 'py-v2');

      const session = await startDebug(cluster, t, {
        debug: { command: 'python3 -m debugpy --listen 127.0.0.1:5678 app.py', port: 5678, type: 'python' },
        forwards: manager,
        localRoot: '/src/py',
        timeoutMs: 60_000,
      });
      try {
        assert.deepEqual(session.attach.connect, { host: '127.0.0.1', port: session.localPort });
        assert.deepEqual(session.attach.pathMappings, [{ localRoot: '/src/py', remoteRoot: '/app' }]);
        // A client after kdev's probe still gets a full DAP answer (the IDE attaches after us).
        const init = dapMessage({ seq: 1, type: 'request', command: 'initialize', arguments: { clientID: 'test', adapterID: 'debugpy' } });
        const got = await talk(session.localPort, init, (b) => dapMessages(b).some((m) => m.type === 'response'));
        const response = dapMessages(got).find((m) => m.type === 'response')!;
        assert.equal(response.command, 'initialize');
        assert.equal(response.success, true);
        assert.equal(typeof (response.body as Record<string, unknown>).supportsConfigurationDoneRequest, 'boolean');
        // The app runs under the debugger and still serves.
        assert.equal((await untilBody(fwd.localPort, (b) => b === 'py-v2', 20_000)).body, 'py-v2');
      } finally {
        await session.stop();
      }
      assert.equal((await runStatus(cluster, t)).state, 'stopped');
    } finally {
      await stopRun(cluster, t).catch(() => undefined);
      await manager.stopAll();
      await sync.stop();
    }
  });

  it('go: delve (headless, JSON-RPC) answers RPCServer.GetVersion through the forward', async () => {
    const t = targets.go!;
    await deliver(cluster, t, { 'main.go': GO, 'go.mod': 'module example.com/app\n\ngo 1.19\n' }, { synced: false });
    const manager = new ForwardManager(cluster);
    const session = await startDebug(cluster, t, {
      debug: {
        command: "go build -gcflags='all=-N -l' -o /tmp/app . && exec dlv exec /tmp/app --headless --listen=127.0.0.1:2345 --api-version=2 --accept-multiclient --continue",
        port: 2345,
        type: 'go',
      },
      forwards: manager,
      localRoot: '/src/go',
      timeoutMs: 150_000,
    });
    try {
      assert.equal(session.attach.mode, 'remote');
      assert.equal(session.attach.port, session.localPort);
      const got = await talk(session.localPort, JSON.stringify({ method: 'RPCServer.GetVersion', params: [{}], id: 7 }), (b) => b.includes(0x7d));
      const res = JSON.parse(got.toString()) as { id: number; result: { DelveVersion: string; APIVersion: number } };
      assert.equal(res.id, 7);
      assert.equal(res.result.APIVersion, 2);
      assert.match(res.result.DelveVersion, /Version: 1\.\d+/);
      const app = await manager.add({ podSelector: t.podSelector }, { localPort: 0, remotePort: 8080 });
      assert.equal((await untilBody(app.localPort, (b) => b === 'go', 20_000)).body, 'go', 'the program runs on (--continue)');
    } finally {
      await session.stop();
      await manager.stopAll();
    }
    assert.equal((await runStatus(cluster, t)).state, 'stopped');
  });

  it('java: the JVM answers the JDWP handshake through the forward', async () => {
    const t = targets.java!;
    await deliver(cluster, t, { 'Main.java': JAVA }, { synced: false });
    const manager = new ForwardManager(cluster);
    const session = await startDebug(cluster, t, {
      debug: { command: 'exec java -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005 Main.java', port: 5005, type: 'java' },
      forwards: manager,
      localRoot: '/src/java',
      timeoutMs: 90_000,
    });
    try {
      assert.deepEqual({ hostName: session.attach.hostName, port: session.attach.port }, { hostName: '127.0.0.1', port: session.localPort });
      // The JVM takes a moment to listen again after kdev's probe detached.
      let handshake = '';
      for (let i = 0; i < 20 && handshake !== 'JDWP-Handshake'; i++) {
        handshake = await talk(session.localPort, 'JDWP-Handshake', (b) => b.length >= 14, 3000).then(
          (b) => b.subarray(0, 14).toString(),
          () => '',
        );
        if (handshake !== 'JDWP-Handshake') await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(handshake, 'JDWP-Handshake');
      const app = await manager.add({ podSelector: t.podSelector }, { localPort: 0, remotePort: 8080 });
      assert.equal((await untilBody(app.localPort, (b) => b === 'java', 30_000)).body, 'java');
      assert.equal(await probeDebugger('python', session.localPort, 1500), false, 'a DAP probe does not mistake JDWP for debugpy');
    } finally {
      await session.stop();
      await manager.stopAll();
    }
    assert.equal((await runStatus(cluster, t)).state, 'stopped');
  });
});
