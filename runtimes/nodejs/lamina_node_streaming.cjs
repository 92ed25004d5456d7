// Response streaming, as AWS's Node.js runtime offers it: the global `awslambda` with
// `streamifyResponse(handler, options)` (the handler becomes `(event, responseStream,
// context)`) and `HttpResponseStream.from(stream, prelude)` (a function URL's status, headers
// and cookies, written before the body as JSON and 8 NUL bytes).
//
// The response stream is the `POST …/response` request itself, sent with
// `Lambda-Runtime-Function-Response-Mode: streaming` and chunked, so each write reaches the
// platform as it is made. A failure is reported in the trailers
// `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (base64 of
// the error document).

'use strict';

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER = new Uint8Array(8);

class HttpResponseStream {
  /** `stream` with the HTTP prelude (`{statusCode, headers, cookies}`) written before its
   * first byte. */
  static from(stream, prelude) {
    stream.setContentType(PRELUDE_CONTENT_TYPE);
    const text = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(text);
      write(PRELUDE_DELIMITER);
    };
    return stream;
  }
}

function installGlobal() {
  globalThis.awslambda = {
    streamifyResponse(handler, options) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = Number.parseInt(options.highWaterMark, 10);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

function isStreaming(handler) {
  return handler?.[HANDLER_STREAMING] === STREAM_RESPONSE;
}

/** Makes `request` (an unsent `http.ClientRequest`) the handler's response stream:
 * `setContentType` before the first write, `_onBeforeFirstWrite` run once, and `fail(body)`
 * to end it with the error trailers. */
function asResponseStream(request) {
  const write = request.write.bind(request);
  const end = request.end.bind(request);
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    const before = request._onBeforeFirstWrite;
    if (typeof before === 'function') before((chunk) => write(chunk));
  };
  request.setContentType = (contentType) => {
    if (started) throw new Error('Tried to set the content type after the first write');
    request.setHeader('Content-Type', contentType);
  };
  request.write = (chunk, ...rest) => {
    start();
    return write(chunk, ...rest);
  };
  request.end = (chunk, ...rest) => {
    if (typeof chunk !== 'function' && chunk !== undefined && chunk !== null) {
      request.write(chunk);
      return end(...rest);
    }
    start();
    return end(chunk, ...rest);
  };
  request.fail = (errorBody) => {
    if (request.writableEnded) return;
    request.addTrailers({
      'Lambda-Runtime-Function-Error-Type': errorBody.errorType ?? 'Unhandled',
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(errorBody)).toString('base64'),
    });
    end();
  };
  return request;
}

module.exports = { asResponseStream, HANDLER_HIGHWATERMARK, installGlobal, isStreaming };
