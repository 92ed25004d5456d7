// Lamina's Node.js runtime bootstrap (AWS Lambda Runtime API 2018-06-01).
//
// Started as `node /var/runtime/index.cjs` with the task root as its working directory. It
// loads the handler named by `_HANDLER` once, then serves invocations: `GET next`, run the
// handler, `POST response` or `POST error`. What a platform sees of it (the payloads it
// posts, the lines it prints, the `context` object) follows AWS's Node.js runtime: error
// bodies `{errorType, errorMessage, trace}`, `Runtime.*` fault names, log lines
// `<ISO time>\t<request id>\tINFO\t<text>`. Plain Node: no npm packages.
//
// AWS's runtime is `/var/runtime/index.mjs`, an ES module. This one is CommonJS, which Node
// starts some 5 ms sooner (an ES module entry sets up the ES module loader first; here it is
// only set up when a handler is an ES module), and it loads handlers through a `require` made
// for `index.mjs` in its directory, so the "Require stack" of a missing handler module reads
// the same as on AWS.
//
// Exit codes: 129 = uncaught exception (the handler could not be loaded, or user code threw
// outside a handler), 128 = unhandled promise rejection, 3 = the Runtime API failed,
// 2 = `AWS_LAMBDA_RUNTIME_API` missing or malformed.

'use strict';

const fs = require('node:fs');
const nodeModule = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const { RuntimeApi } = require('./lamina_node_api.cjs');
const {
  errorBody,
  HandlerNotFound,
  ImportModuleError,
  logError,
  MalformedHandlerName,
  NodeJsExit,
  patchConsole,
  setRequestId,
  UnhandledPromiseRejection,
  UserCodeSyntaxError,
} = require('./lamina_node_support.cjs');
const streaming = require('./lamina_node_streaming.cjs');

// The `require` that loads handlers, as AWS's `/var/runtime/index.mjs` has it: a missing
// module's "Require stack" names that file.
const requireHandler = nodeModule.createRequire(path.join(__dirname, 'index.mjs'));
// Under an ES module entry there is no main CommonJS module: user code sees `require.main`
// undefined on AWS (libraries that look for the application's root through it fall back).
process.mainModule = undefined;

/** What to do when the event loop runs dry during an invocation (`beforeExit`). */
let onEmptyLoop = null;
/** How an uncaught error is reported: at init, or for the invocation in flight. */
let reportFatal = (error, code) => {
  api.postInitError(errorBody(error)).finally(() => process.exit(code));
};

const api = RuntimeApi.fromEnv(process.env.AWS_LAMBDA_RUNTIME_API);
patchConsole();
// `awslambda.streamifyResponse` and `awslambda.HttpResponseStream`, before handlers load.
streaming.installGlobal();

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  reportFatal(error, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  reportFatal(error, 128);
});
process.on('beforeExit', () => {
  const action = onEmptyLoop;
  onEmptyLoop = null;
  if (action) action();
});


let handler;
let isAsync = false;
start();

async function start() {
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || '');
  } catch (error) {
    // As AWS's runtime: a handler that cannot be loaded is an uncaught exception at init.
    logError('Uncaught Exception', error);
    await api.postInitError(errorBody(error));
    process.exit(129);
  }
  isAsync = handler.constructor?.name === 'AsyncFunction';
  setImmediate(serveNext);
}

// ---------------------------------------------------------------------------------------
// Loading the handler (AWS's rules: `[dir/]module.member[.member…]`).

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(base));
  const parts = /^([^.]*)\.(.*)$/.exec(base);
  if (!parts) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, member] = parts;
  let loaded;
  try {
    loaded = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e?.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const found = member.split('.').reduce((object, key) => object && object[key], loaded);
  if (!found) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof found !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return found;
}

/** The module's exports: the file as named, `.js` (CommonJS unless `"type": "module"`),
 * `.mjs`, `.cjs`, then Node's own resolution from the task root. */
async function loadModule(appRoot, moduleRoot, moduleName) {
  const file = path.resolve(appRoot, moduleRoot, moduleName);
  const exists = (p) => fs.existsSync(p);
  const importFile = async (p) => import(pathToFileURL(p).href);
  if (exists(file)) return requireHandler(file);
  const typeModule = exists(`${file}.js`) && inTypeModulePackage(path.dirname(`${file}.js`));
  if (exists(`${file}.js`)) return typeModule ? importFile(`${file}.js`) : requireHandler(`${file}.js`);
  if (exists(`${file}.mjs`)) return importFile(`${file}.mjs`);
  if (exists(`${file}.cjs`)) return requireHandler(`${file}.cjs`);
  return requireHandler(requireHandler.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

/** Whether the nearest `package.json` above `dir` says `"type": "module"`; the search
 * stops at a `node_modules` directory and at `/`. */
function inTypeModulePackage(dir) {
  if (dir.endsWith('/node_modules')) return false;
  const manifest = path.join(dir, 'package.json');
  if (fs.existsSync(manifest)) {
    try {
      return JSON.parse(fs.readFileSync(manifest, 'utf8'))?.type === 'module';
    } catch (e) {
      console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  const parent = path.resolve(dir, '..');
  return parent !== dir && inTypeModulePackage(parent);
}

// ---------------------------------------------------------------------------------------
// Serving invocations.

async function serveNext() {
  const invocation = await api.next();
  setRequestId(invocation.requestId, invocation.tenantId);
  if (invocation.traceId) process.env._X_AMZN_TRACE_ID = invocation.traceId;
  else delete process.env._X_AMZN_TRACE_ID;

  if (streaming.isStreaming(handler)) {
    serveStreaming(invocation);
    return;
  }
  let reported = false;
  let waitsForEmptyLoop = true;
  const report = (error, result) => {
    onEmptyLoop = null;
    if (reported) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    reported = true;
    const posted = error === undefined || error === null
      ? api.postResponse(invocation.requestId, result)
      : postError(invocation.requestId, error);
    posted.then(() => setImmediate(serveNext));
  };
  // As AWS's runtime: the first of the callback, `succeed`, `fail` and `done` to be called
  // decides the answer, and the others are ignored (an async handler that calls its callback
  // answers what it gave the callback, not what its promise resolves to).
  let finished = false;
  const firstOnly = (f) => (...args) => {
    if (finished) return;
    finished = true;
    f(...args);
  };
  const done = firstOnly((error, result) => report(error, result));
  const callback = firstOnly((error, result) => {
    onEmptyLoop = null;
    if (error !== undefined && error !== null) report(error);
    else if (!waitsForEmptyLoop) report(null, result);
    // AWS's default: the answer goes when the event loop is empty.
    else onEmptyLoop = () => setImmediate(() => report(null, result));
  });
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitsForEmptyLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitsForEmptyLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (error) => done(error === undefined || error === null ? 'handled' : error, null),
    done,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: invocation.clientContext,
    identity: invocation.identity,
    invokedFunctionArn: invocation.functionArn,
    awsRequestId: invocation.requestId,
    tenantId: invocation.tenantId,
    getRemainingTimeInMillis: () => invocation.deadlineMs - Date.now(),
  };
  reportFatal = (error, code) => {
    postError(invocation.requestId, error, false).finally(() => process.exit(code));
  };
  // A handler that never answers: an async one whose promise never settles is an error,
  // any other answers `null` once nothing is left to run.
  onEmptyLoop = () => {
    if (isAsync) {
      const error = new NodeJsExit();
      logError('Invoke Error', error);
      api.postError(invocation.requestId, errorBody(error)).then(() => setImmediate(serveNext));
    } else {
      report(null, null);
    }
  };
  try {
    const result = handler(JSON.parse(invocation.body), context, callback);
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail);
    }
  } catch (error) {
    callback(error);
  }
}

/** The `context` a streaming handler gets: AWS's fields, without the callback-era methods. */
function streamingContext(invocation) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: invocation.clientContext,
    identity: invocation.identity,
    invokedFunctionArn: invocation.functionArn,
    awsRequestId: invocation.requestId,
    tenantId: invocation.tenantId,
    getRemainingTimeInMillis: () => invocation.deadlineMs - Date.now(),
  };
}

/** One invocation of a `streamifyResponse` handler: it writes to the response stream and
 * ends it; an error it throws (or rejects with) ends the stream with the error trailers.
 * Guessed: as AWS's runtime, the invocation is over when the stream has ended, not when the
 * handler's promise settles (a handler that never ends its stream runs to its timeout). */
async function serveStreaming(invocation) {
  const highWaterMark = handler[streaming.HANDLER_HIGHWATERMARK];
  const { stream, done } = api.streamResponse(invocation.requestId, streaming.asResponseStream, highWaterMark);
  const failWith = (error) => {
    logError('Invoke Error', error);
    stream.fail(errorBody(error));
  };
  reportFatal = (error, code) => {
    stream.fail(errorBody(error));
    done.finally(() => process.exit(code));
  };
  onEmptyLoop = null;
  try {
    const result = handler(JSON.parse(invocation.body), stream, streamingContext(invocation));
    if (result && typeof result.then === 'function') await result;
  } catch (error) {
    failWith(error);
  }
  await done;
  setImmediate(serveNext);
}

function postError(requestId, error, log = true) {
  if (log) logError('Invoke Error', error);
  return api.postError(requestId, errorBody(error));
}
