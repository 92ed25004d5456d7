// The bootstrap against a fake Runtime API: `node --test runtimes/nodejs/test_bootstrap.mjs`.
// (The e2e suite, tests/e2e/test_nodejs_runtime.py, runs it inside Lamina.)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'index.cjs');

/** Runs `source` as `index.js` (none when null; more `files` beside it) for `events`; gives what it
 * posted, its stdout and exit code. `$TASK` in an `env` value is the task directory. */
async function run(source, events, { env = {}, host = '127.0.0.1', files = {} } = {}) {
  const task = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-node-'));
  for (const [name, text] of Object.entries({ ...(source === null ? {} : { 'index.js': source }), ...files })) {
    fs.mkdirSync(path.dirname(path.join(task, name)), { recursive: true });
    fs.writeFileSync(path.join(task, name), text);
  }
  env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('$TASK', task)]));
  const queue = [...events];
  const posted = [];
  const streamed = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      assert.ok(req.url.startsWith('/tok/2018-06-01/runtime/'), req.url);
      if (req.method === 'POST' && req.headers['lambda-runtime-function-response-mode'] === 'streaming') {
        streamed.push({ path: req.url.split('/runtime/')[1], contentType: req.headers['content-type'],
          body: Buffer.concat(chunks), chunks: chunks.length, trailers: req.trailers });
        res.writeHead(202).end('{"status":"OK"}');
      } else if (req.method === 'POST') {
        posted.push({ path: req.url.split('/runtime/')[1], type: req.headers['lambda-runtime-function-error-type'], body: JSON.parse(Buffer.concat(chunks)) });
        res.writeHead(202).end('{"status":"OK"}');
      } else if (queue.length) {
        res.writeHead(200, {
          'Lambda-Runtime-Aws-Request-Id': `req-${queue.length}`,
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 3000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:f',
        }).end(JSON.stringify(queue.shift()));
      } else {
        req.socket.destroy(); // no more events: the runtime exits (3)
      }
    });
  });
  await new Promise((ok) => server.listen(0, host, ok));
  const address = host.includes(':') ? `[${host}]` : host;
  const child = spawn(process.execPath, [BOOTSTRAP], {
    cwd: task,
    env: { AWS_LAMBDA_RUNTIME_API: `${address}:${server.address().port}/tok`, _HANDLER: 'index.handler', LAMBDA_TASK_ROOT: task, ...env },
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise((ok) => child.on('exit', ok));
  server.close();
  fs.rmSync(task, { recursive: true });
  return { posted, streamed, stdout, code };
}

test('a callback that does not wait for the event loop answers before pending timers', { timeout: 30000 }, async () => {
  const source = `exports.handler = (e, c, cb) => { c.callbackWaitsForEmptyEventLoop = false;
    setTimeout(() => {}, 600000); cb(null, 'early'); };`;
  // Waiting for the ten-minute timer would hang this test; not waiting answers at once.
  const { posted, code } = await run(source, [{}]);
  assert.deepEqual(posted, [{ path: 'invocation/req-1/response', type: undefined, body: 'early' }]);
  assert.equal(code, 3);
});

test('context.succeed and context.fail answer like the callback', async () => {
  const { posted } = await run('exports.handler = (e, c) => (e.ok ? c.succeed(1) : c.fail("no"));', [{ ok: true }, { ok: false }]);
  assert.deepEqual(posted[0].body, 1);
  assert.deepEqual(posted[1].body, { errorType: 'string', errorMessage: 'no', trace: [] });
});

test('a non-async handler that never answers gives null once the loop is empty', async () => {
  const { posted } = await run('exports.handler = () => { setTimeout(() => {}, 20); };', [{}]);
  assert.deepEqual(posted, [{ path: 'invocation/req-1/response', type: undefined, body: null }]);
});

test('an IPv6 Runtime API address works', async () => {
  const { posted } = await run('exports.handler = async (e) => e;', [{ v: 6 }], { host: '::1' });
  assert.deepEqual(posted[0].body, { v: 6 });
});

test('JSON log format writes one object a line', async () => {
  const { stdout } = await run('exports.handler = async () => { console.warn("careful"); };', [{}], { env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } });
  const record = JSON.parse(stdout.trim().split('\n')[0]);
  assert.equal(record.level, 'WARN');
  assert.equal(record.message, 'careful');
  assert.equal(record.requestId, 'req-1');
});

test('AWS_LAMBDA_LOG_LEVEL drops lower levels', async () => {
  const source = 'exports.handler = async () => { console.debug("hidden"); console.error("shown"); };';
  const { stdout } = await run(source, [{}], { env: { AWS_LAMBDA_LOG_LEVEL: 'WARN' } });
  assert.ok(!stdout.includes('hidden'));
  assert.match(stdout, /\treq-1\tERROR\tshown\n/);
});

test('a malformed handler name is Runtime.MalformedHandlerName at init (exit 129)', async () => {
  const { posted, code } = await run('', [], { env: { _HANDLER: 'nodot' } });
  assert.equal(code, 129);
  assert.equal(posted[0].path, 'init/error');
  assert.equal(posted[0].type, 'Runtime.MalformedHandlerName');
  assert.equal(posted[0].body.errorMessage, 'Bad handler');
});

test('a missing AWS_LAMBDA_RUNTIME_API exits 2', async () => {
  const child = spawn(process.execPath, [BOOTSTRAP], { env: { _HANDLER: 'index.handler' } });
  assert.equal(await new Promise((ok) => child.on('exit', ok)), 2);
});

// ES module imports from NODE_PATH are the sandbox's doing (its `/node_modules` links, see
// crates/lamina-exec/src/node_modules.rs), tested end to end (tests/e2e/test_nodejs_layer_flow.py).
test('a CommonJS handler requires packages from NODE_PATH', async () => {
  const files = {
    'opt/a/node_modules/other/index.js': "exports.plain = 'not this one';\n",
    'opt/b/node_modules/cjs-pkg/index.js': "exports.plain = 'cjs from a layer';\n",
  };
  const env = { NODE_PATH: '$TASK/opt/a/node_modules:$TASK/opt/b/node_modules:$TASK/none/node_modules:$TASK' };
  const required = await run("exports.handler = async () => require('cjs-pkg').plain;", [{}], { files, env });
  assert.deepEqual(required.posted[0].body, 'cjs from a layer');
});

test('an import NODE_PATH does not have either is the ES module resolver\'s error', async () => {
  const files = { 'index.mjs': "import 'nowhere-to-be-found';\nexport const handler = async () => 1;\n", 'l/node_modules/x/index.js': '' };
  const { posted, code } = await run(null, [], { files, env: { NODE_PATH: '$TASK/l/node_modules' } });
  assert.equal(code, 129);
  assert.equal(posted[0].body.errorType, 'Error');
  assert.match(posted[0].body.errorMessage, /^Cannot find package 'nowhere-to-be-found' imported from /);
});

test('the first of the callback and the promise decides the answer', async () => {
  const source = `exports.handler = async (e, c, cb) => { if (e.callbackFirst) cb(null, 'callback'); return 'promise'; };`;
  const { posted } = await run(source, [{ callbackFirst: true }, { callbackFirst: false }]);
  assert.deepEqual(posted.map((p) => p.body), ['callback', 'promise']);
});

test('handlers see no main module, as under AWS\'s ES module entry', async () => {
  const { posted } = await run('exports.handler = async () => [require.main === undefined, process.mainModule === undefined];', [{}]);
  assert.deepEqual(posted[0].body, [true, true]);
});

test('a streamifyResponse handler streams its writes, with the HTTP prelude first', async () => {
  const source = `exports.handler = awslambda.streamifyResponse(async (event, stream, context) => {
    stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { a: 'b' } });
    stream.write('one,');
    await new Promise((ok) => setTimeout(ok, 20));
    stream.end('two:' + context.awsRequestId);
  });`;
  const { streamed, posted } = await run(source, [{}]);
  assert.deepEqual(posted, []);
  assert.equal(streamed.length, 1);
  const [s] = streamed;
  assert.equal(s.path, 'invocation/req-1/response');
  assert.equal(s.contentType, 'application/vnd.awslambda.http-integration-response');
  const text = s.body.toString('latin1');
  assert.equal(text, '{"statusCode":201,"headers":{"a":"b"}}' + '\0'.repeat(8) + 'one,two:req-1');
  assert.ok(s.chunks >= 2, `${s.chunks} chunks`);
  assert.deepEqual(s.trailers, {});
});

test('a streaming handler that throws ends its stream with the error trailers', async () => {
  const source = `exports.handler = awslambda.streamifyResponse(async (event, stream) => {
    stream.setContentType('text/plain');
    stream.write('partial');
    throw new TypeError('midway');
  });`;
  const { streamed } = await run(source, [{}]);
  const [s] = streamed;
  assert.equal(s.contentType, 'text/plain');
  assert.equal(s.body.toString(), 'partial');
  assert.equal(s.trailers['lambda-runtime-function-error-type'], 'TypeError');
  const doc = JSON.parse(Buffer.from(s.trailers['lambda-runtime-function-error-body'], 'base64'));
  assert.equal(doc.errorMessage, 'midway');
});
