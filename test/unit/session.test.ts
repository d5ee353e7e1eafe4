// Pure logic of core/session: port specs, backoff, /proc/net/tcp parsing, log time filter,
// supervisor status, DAP framing, attach configurations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { attachConfig, backoffMs, dapMessage, dapMessages, isKdevError, listeningInodes, parsePortPair, parseRunStatus, sinceFilter } from '@kdev/core/internals';

describe('parsePortPair', () => {
  it('reads local:remote, remote, :remote', () => {
    assert.deepEqual(parsePortPair('8080:80'), { localPort: 8080, remotePort: 80 });
    assert.deepEqual(parsePortPair('3000'), { localPort: 3000, remotePort: 3000 });
    assert.deepEqual(parsePortPair(9229), { localPort: 9229, remotePort: 9229 });
    assert.deepEqual(parsePortPair(':80'), { localPort: 0, remotePort: 80 });
    assert.deepEqual(parsePortPair('0:80'), { localPort: 0, remotePort: 80 });
  });
  it('rejects what is not a port pair, with a hint', () => {
    for (const bad of ['', 'http', '80:http', '1:2:3', '70000', '8080:0', '-1:80']) {
      assert.throws(() => parsePortPair(bad), (e: unknown) => isKdevError(e) && e.code === 'INVALID' && (e.hint !== undefined || /1-65535/.test(e.message)), bad);
    }
  });
});

describe('backoffMs', () => {
  it('retries quickly ten times, then doubles up to 1 s', () => {
    assert.deepEqual([1, 2, 10, 11, 12, 13, 14, 15, 40].map(backoffMs), [50, 50, 50, 100, 200, 400, 800, 1000, 1000]);
  });
});

describe('listeningInodes', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 654321 1 0000000000000000 20 4 30 10 -1',
    '   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  it('finds the LISTEN sockets of a port (hex) and skips established ones', () => {
    assert.deepEqual(listeningInodes(table, 8080), ['123456']);
    assert.deepEqual(listeningInodes(table, 80), ['777']);
    assert.deepEqual(listeningInodes(table, 443), []);
  });
  it('reads tcp6 addresses', () => {
    const v6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 100 0 0 10 0';
    assert.deepEqual(listeningInodes(v6, 8080), ['42']);
  });
});

describe('sinceFilter', () => {
  const run = async (since: number, text: string[]): Promise<string> => {
    const f = sinceFilter(since);
    const out = new PassThrough();
    let got = '';
    out.on('data', (d: Buffer) => (got += d.toString()));
    f.pipe(out);
    for (const chunk of text) f.write(chunk);
    f.end();
    await new Promise((r) => out.on('end', r));
    return got;
  };
  it('drops the lines stamped before the instant and strips the stamps, across chunk borders', async () => {
    const since = Date.parse('2026-11-22T00:00:01.500Z');
    const got = await run(since, ['2026-11-22T00:00:01.499999999Z old\n2026-11-22T00:00:01.5000', '00000Z new 1\n2026-11-22T00:00:02.000000000Z new 2\n2026-11-22T00:00:03Z tail']);
    assert.equal(got, 'new 1\nnew 2\ntail');
  });
});

describe('parseRunStatus', () => {
  it('reads the supervisor status file', () => {
    assert.deepEqual(parseRunStatus('running 42\n'), { state: 'running', pid: 42 });
    assert.deepEqual(parseRunStatus('exited 3'), { state: 'exited', code: 3 });
    assert.deepEqual(parseRunStatus('stopped'), { state: 'stopped' });
    assert.deepEqual(parseRunStatus('no-command'), { state: 'no-command' });
    assert.deepEqual(parseRunStatus(''), { state: 'idle' });
  });
});

describe('DAP framing', () => {
  it('frames with Content-Length in bytes and parses complete messages only', () => {
    const body = { seq: 1, type: 'request', command: 'initialize', arguments: { name: 'é' } };
    const a = dapMessage(body);
    const json = JSON.stringify(body);
    assert.equal(a, `Content-Length: ${json.length + 1}\r\n\r\n${json}`, 'é is two bytes');
    const b = dapMessage({ seq: 2, type: 'event', event: 'initialized' });
    const both = Buffer.from(a + b);
    assert.deepEqual(dapMessages(both).map((m) => m.seq), [1, 2]);
    assert.deepEqual(dapMessages(both.subarray(0, both.length - 3)).map((m) => m.seq), [1]);
    assert.deepEqual(dapMessages(Buffer.from('garbage')), []);
  });
});

describe('attachConfig', () => {
  it('gives VS Code the attach configuration of each debugger', () => {
    assert.deepEqual(attachConfig('node', 4000, '/app', '/src', 'n'), {
      type: 'node', request: 'attach', name: 'n', address: '127.0.0.1', port: 4000, localRoot: '/src', remoteRoot: '/app', restart: true, skipFiles: ['<node_internals>/**'],
    });
    assert.deepEqual(attachConfig('python', 4001, '/app', '/src').connect, { host: '127.0.0.1', port: 4001 });
    assert.deepEqual(attachConfig('python', 4001, '/app', '/src').pathMappings, [{ localRoot: '/src', remoteRoot: '/app' }]);
    assert.equal(attachConfig('python', 4001, '/app', '/src').type, 'debugpy');
    assert.deepEqual(attachConfig('go', 4002, '/app', '/src').substitutePath, [{ from: '/src', to: '/app' }]);
    assert.equal(attachConfig('go', 4002, '/app', '/src').mode, 'remote');
    assert.deepEqual({ ...attachConfig('java', 4003, '/app', '/src') }, { type: 'java', request: 'attach', name: 'kdev: attach', hostName: '127.0.0.1', port: 4003, sourcePaths: ['/src'] });
  });
});
