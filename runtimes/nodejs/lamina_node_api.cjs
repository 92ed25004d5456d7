// The Runtime API client: Node's own `http`, one kept-alive connection.
//
// `AWS_LAMBDA_RUNTIME_API` is `host:port`, optionally followed by a path prefix
// (`127.0.0.1:9001/abcd` sends every request to `/abcd/2018-06-01/runtime/…`); `[::1]:9001`
// works too. A failed connection or a 5xx ends the runtime (exit 3); a 4xx to a post is
// written to stderr and the runtime carries on, as the platform has the last word.

'use strict';

const http = require('node:http');

function fail(code, message) {
  process.stderr.write(`[lamina runtime] ${message}\n`);
  process.exit(code);
}

class RuntimeApi {
  static fromEnv(address) {
    const text = (address ?? '').trim().replace(/^[a-z]+:\/\//, '');
    const slash = text.indexOf('/');
    const hostPort = slash < 0 ? text : text.slice(0, slash);
    const prefix = slash < 0 ? '' : text.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    const parsed = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(hostPort);
    if (!parsed) fail(2, `AWS_LAMBDA_RUNTIME_API is missing or malformed: ${JSON.stringify(address ?? '')}`);
    return new RuntimeApi(parsed[1] ?? parsed[2], Number(parsed[3] ?? 80), prefix);
  }

  constructor(host, port, prefix) {
    this.host = host;
    this.port = port;
    this.base = `${prefix ? `/${prefix}` : ''}/2018-06-01/runtime/`;
    // Kept-alive sockets are unreferenced while idle, so the event loop can still run dry
    // (callback handlers answer then).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** The next invocation: `{requestId, body, deadlineMs, functionArn, traceId, …}`. */
  async next() {
    const { status, headers, body } = await this.request('GET', 'invocation/next');
    if (status !== 200) fail(3, `GET invocation/next answered ${status}: ${body}`);
    const json = (name, text) => {
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
      }
    };
    return {
      requestId: headers['lambda-runtime-aws-request-id'],
      body,
      deadlineMs: Number(headers['lambda-runtime-deadline-ms']),
      functionArn: headers['lambda-runtime-invoked-function-arn'],
      traceId: headers['lambda-runtime-trace-id'],
      tenantId: headers['lambda-runtime-aws-tenant-id'],
      clientContext: json('ClientContext', headers['lambda-runtime-client-context']),
      identity: json('CognitoIdentity', headers['lambda-runtime-cognito-identity']),
    };
  }

  postResponse(requestId, result) {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch {
      const error = new Error('Unable to stringify response body');
      return this.postError(requestId, {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      });
    }
    return this.post(`invocation/${encodeURIComponent(requestId)}/response`, body, {});
  }

  /** A streamed response: `{stream, done}`, the unsent request to write the response to
   * (see lamina_node_streaming.cjs) and a promise of the platform's answer once it ended. */
  streamResponse(requestId, asResponseStream, highWaterMark) {
    let request;
    const done = new Promise((resolve) => {
      request = http.request(
        {
          host: this.host,
          port: this.port,
          path: `${this.base}invocation/${encodeURIComponent(requestId)}/response`,
          method: 'POST',
          agent: this.agent,
          highWaterMark,
          headers: {
            'Content-Type': 'application/octet-stream',
            'Lambda-Runtime-Function-Response-Mode': 'streaming',
            'Transfer-Encoding': 'chunked',
            Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
          },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (response.statusCode >= 500) fail(3, `POST response answered ${response.statusCode}: ${body}`);
            if (response.statusCode >= 400) process.stderr.write(`[lamina runtime] POST response answered ${response.statusCode}: ${body}\n`);
            resolve();
          });
        },
      );
      request.on('error', (err) => fail(3, `POST response failed: ${err.message}`));
    });
    return { stream: asResponseStream(request), done };
  }

  postError(requestId, payload) {
    return this.post(`invocation/${encodeURIComponent(requestId)}/error`, JSON.stringify(payload), {
      'Lambda-Runtime-Function-Error-Type': payload.errorType ?? 'Unhandled',
    });
  }

  postInitError(payload) {
    return this.post('init/error', JSON.stringify(payload), {
      'Lambda-Runtime-Function-Error-Type': payload.errorType ?? 'Unhandled',
    });
  }

  async post(path, body, headers) {
    const answer = await this.request('POST', path, body, {
      'Content-Type': 'application/json',
      ...headers,
    });
    if (answer.status >= 500) fail(3, `POST ${path} answered ${answer.status}: ${answer.body}`);
    if (answer.status >= 400) process.stderr.write(`[lamina runtime] POST ${path} answered ${answer.status}: ${answer.body}\n`);
    return answer;
  }

  request(method, path, body, headers = {}) {
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const request = http.request(
        {
          host: this.host,
          port: this.port,
          path: this.base + path,
          method,
          agent: this.agent,
          headers: payload ? { ...headers, 'Content-Length': payload.length } : headers,
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', (err) => fail(3, `${method} ${path} failed: ${err.message}`));
        },
      );
      request.on('error', (err) => fail(3, `${method} ${path} failed: ${err.message}`));
      request.end(payload);
    });
  }
}

module.exports = { RuntimeApi };
