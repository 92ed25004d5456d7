// The runtime's error types, error payloads and log lines, as AWS's Node.js runtime has them.

'use strict';

const util = require('node:util');

// ---------------------------------------------------------------------------------------
// Fault types: `Runtime.<Name>`, with the cause's text (`Error: …`) as their message.

function faultType(name) {
  const type = class extends Error {};
  Object.defineProperty(type, 'name', { value: name });
  type.prototype.name = `Runtime.${name}`;
  return type;
}

const ImportModuleError = faultType('ImportModuleError');
const HandlerNotFound = faultType('HandlerNotFound');
const MalformedHandlerName = faultType('MalformedHandlerName');
const UserCodeSyntaxError = faultType('UserCodeSyntaxError');

class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function looksLikeError(value) {
  return (
    value &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string' &&
    value.name &&
    value.message &&
    value.stack
  );
}

const escapeDel = (text) => text?.replaceAll('\x7F', '%7F');

/** The body posted to `…/error` and `init/error`: `{errorType, errorMessage, trace}`. */
function errorBody(error) {
  try {
    if (util.types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: escapeDel(error.name),
        errorMessage: escapeDel(error.message),
        trace: escapeDel(error.stack).split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

/** An error as the log shows it after "Invoke Error": a tab, then JSON with its type,
 * message, own fields and stack lines. */
function formatted(value) {
  const error = value instanceof Error ? value : new Error(value);
  const withFields = (_key, v) => {
    if (!(v instanceof Error)) return v;
    const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
    if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
    return out;
  };
  try {
    return `\t${JSON.stringify(error, withFields)}`;
  } catch {
    return `\t${JSON.stringify(errorBody(error))}`;
  }
}

// ---------------------------------------------------------------------------------------
// Log lines: `console.*` write `<ISO time>\t<request id>\t<LEVEL>\t<text>` (newlines become
// `\r`, one record a line), or a JSON object with `AWS_LAMBDA_LOG_FORMAT=JSON`, as AWS's
// runtime writes them.

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');

/** The request (and tenant) the log lines name from now on. */
function setRequestId(id, tenantId) {
  globalThis[REQUEST_ID] = id;
  globalThis[TENANT_ID] = tenantId;
}

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

const isJson = () => process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';

function textLine(level, args) {
  return `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level}\t${util.format(...args)}`;
}

/** An Error inside a JSON record: its type (constructor name), message, stack lines and own
 * fields. */
function errorAsJson(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign(
    {
      errorType: value?.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    },
    value,
  );
}

function jsonLine(level, args) {
  const record = { timestamp: new Date().toISOString(), level, requestId: globalThis[REQUEST_ID] };
  const tenantId = globalThis[TENANT_ID];
  if (tenantId !== undefined && tenantId !== null) record.tenantId = tenantId;
  if (args.length === 1) {
    // One argument is the message as it is: an object stays an object, an Error becomes one.
    record.message = args[0];
    try {
      return JSON.stringify(record, errorAsJson);
    } catch {
      record.message = util.format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(...args);
  const error = args.find((a) => a instanceof Error);
  if (error) {
    record.errorType = error?.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function patchConsole() {
  const line = isJson() ? jsonLine : textLine;
  const threshold = Math.max(0, LEVELS.indexOf(process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase() ?? 'TRACE'));
  const writer = (level) => {
    if (level !== 'FATAL' && LEVELS.indexOf(level) < threshold) return () => {};
    return (...args) => {
      process.stdout.write(`${line(level, args).replace(/\n/g, '\r')}\n`);
    };
  };
  console.trace = writer('TRACE');
  console.debug = writer('DEBUG');
  console.info = writer('INFO');
  console.log = console.info;
  console.warn = writer('WARN');
  console.error = writer('ERROR');
  console.fatal = writer('FATAL');
}

/** Logs a failure the runtime reports ("Invoke Error", "Uncaught Exception", …): in text,
 * the label then the error as JSON after a tab; in JSON, the error alone, as a record. */
function logError(label, value) {
  const error = value instanceof Error ? value : new Error(value);
  if (isJson()) console.error(error);
  else console.error(label, formatted(error));
}

module.exports = {
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  NodeJsExit,
  UnhandledPromiseRejection,
  errorBody,
  formatted,
  setRequestId,
  patchConsole,
  logError,
};
