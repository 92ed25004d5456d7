"""Lamina's Python runtime bootstrap (AWS Lambda Runtime API 2018-06-01).

Lamina runs it as ``/abs/path/to/python3 /var/runtime/bootstrap.py`` with the
working directory set to the function's task root.  Self-contained: stdlib
only, one file.

Faster start (optional): a script is compiled from source on every run (about
8 ms for this file); a module loads from its ``__pycache__`` .pyc.  Write this
same text also as ``/var/runtime/__main__.py``, byte-compile it once per
interpreter version (``pythonX.Y -m compileall -q --invalidation-mode
checked-hash /var/runtime``, before the directory is mounted read-only) and
run the directory instead of the file: ``python3 /var/runtime``.  Behaviour
is identical.

It imports the function's handler once, then loops: GET the next event, call
the handler, POST the result (or the error).  Its observable behaviour
(payloads posted to the Runtime API, what is written to stdout, the
``context`` object) follows the reference client ``awslambdaric`` that AWS's
managed Python runtimes use; the implementation is independent and
stdlib-only.

It starts fast: no ``http.client`` (it pulls in ssl and email), no ``json``
package (it pulls in ``re``; the ``_json`` C accelerator is used directly),
no ``socket`` module (``_socket`` is enough), and ``logging`` is only set up
if and when user code imports it.  HTTP/1.1 over one keep-alive TCP
connection with TCP_NODELAY.  Works on CPython 3.8 to 3.13.

Environment
-----------
``AWS_LAMBDA_RUNTIME_API``  ``host:port`` optionally followed by a path
    prefix: ``127.0.0.1:9001/abcd1234`` sends every request to
    ``/abcd1234/2018-06-01/runtime/...``.  ``[::1]:9001`` works too.
``_HANDLER``  ``module.function``; the module may be dotted or use ``/``
    (``pkg/mod.handler``).  A command-line argument, if given, wins.
``LAMBDA_TASK_ROOT``  function code directory, default ``/var/task``.
``LAMINA_OPT_ROOT``  where the layers are merged, default ``/opt``.  Lamina
    sets it only in its no-isolation mode, where no real ``/opt`` is mounted.
``LAMINA_RUNTIME_SDK``  where the runtime's AWS SDK (boto3) is, in the
    no-isolation mode only; in a sandbox it is in ``/var/runtime`` itself.
``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_VERSION``,
``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ``AWS_LAMBDA_LOG_GROUP_NAME``,
``AWS_LAMBDA_LOG_STREAM_NAME``  copied into ``context`` (as strings, as
    awslambdaric does: ``context.memory_limit_in_mb`` is ``"128"``).
``AWS_LAMBDA_LOG_FORMAT`` (``JSON``|text), ``AWS_LAMBDA_LOG_LEVEL``  how the
    root logger writes (only once user code imports ``logging``).
``AWS_EXECUTION_ENV``  ``AWS_Lambda_python3.12`` and later make JSON output
    keep non-ASCII characters (``ensure_ascii=False``), as awslambdaric does.

sys.path
--------
``[$LAMBDA_TASK_ROOT, $LAMINA_OPT_ROOT/python/lib/pythonX.Y/site-packages,
$LAMINA_OPT_ROOT/python, [$LAMINA_RUNTIME_SDK,] <this file's directory>,
<stdlib and site entries...>, <directories named by .pth files>]`` -- AWS's
order: function code first, then a layer's site-packages, then a layer's
``python/``, then the runtime's own libraries (boto3: in this file's
directory, ``/var/runtime``, in a Lamina sandbox), so a function's or a
layer's boto3 wins over the runtime's.  The
three are added whether or not they exist, and each is processed as a site
directory (``site.addsitedir``) as AWS's own bootstrap does, so ``.pth``
files there work.  ``PYTHONPATH`` is set to ``$LAMBDA_RUNTIME_DIR`` for child
processes if it is unset and ``LAMBDA_RUNTIME_DIR`` is set (AWS's observed
environment); unlike AWS's bootstrap, a user-set ``PYTHONPATH`` does not
stop the layer directories from being added.

Exit status
-----------
1  the handler could not be loaded (after posting ``/runtime/init/error``).
2  ``AWS_LAMBDA_RUNTIME_API`` is missing or malformed.
3  the Runtime API failed: connection refused or dropped, HTTP 5xx, or a
   non-200 answer to ``next``.
A ``SystemExit`` raised by user code exits with its code.  Exits never wait
for threads left running by user code, nor run ``atexit`` hooks.
"""

import os
import sys
import time

import _socket

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None

# --------------------------------------------------------------------------
# Names and texts shared with awslambdaric (they are observable).

ERR_MARSHAL = "Runtime.MarshalError"
ERR_UNMARSHAL = "Runtime.UnmarshalError"
ERR_SYNTAX = "Runtime.UserCodeSyntaxError"
ERR_HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
ERR_IMPORT_MODULE = "Runtime.ImportModuleError"
ERR_BUILTIN_CONFLICT = "Runtime.BuiltInModuleConflict"
ERR_MALFORMED_HANDLER = "Runtime.MalformedHandlerName"
ERR_CONTEXT_UNMARSHAL = "Runtime.LambdaContextUnmarshalError"

UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected "
    "function behavior. For functions using managed runtimes, runtime updates "
    "can be triggered by a function change, or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version "
    "in the INIT_START log entry. If this error correlates with a change in "
    "the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more "
    "information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

TEXT_LOG_FORMAT = (
    "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
)
TEXT_LOG_DATEFMT = "%Y-%m-%dT%H:%M:%S"
JSON_LOG_DATEFMT = "%Y-%m-%dT%H:%M:%SZ"
NBSP = "\u00a0"
XRAY_CAUSE_MAX = 1024 * 1024
USER_AGENT = "lamina-python/%d.%d.%d" % tuple(sys.version_info[:3])

_JSON_LOG_RESERVED = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename",
    "module", "exc_info", "exc_text", "stack_info", "lineno", "funcName",
    "created", "msecs", "relativeCreated", "thread", "threadName",
    "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
))


class _State(object):
    """Process-wide settings and the current invocation (for log records)."""

    request_id = None
    tenant_id = None
    log_json = False
    log_level = ""
    ensure_ascii = True


class Fault(Exception):
    """A runtime-detected failure with an awslambdaric error type."""

    def __init__(self, error_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.error_type = error_type
        self.msg = msg
        self.trace = trace


class RuntimeAPIError(Exception):
    """The Runtime API could not be reached or answered with a failure."""


# --------------------------------------------------------------------------
# JSON without the ``json`` package.  Output matches awslambdaric's simplejson
# encoder for what handlers return in practice: same separators (", ", ": "),
# ensure_ascii as awslambdaric sets it, NaN/Infinity allowed, Decimal written
# as its exact text (NaN -> NaN), bytes inside containers decoded as UTF-8.

_INF = float("inf")
_NAN = float("nan")
_JSON_WS = " \t\n\r"


class _ScannerSettings(object):
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": -_INF, "Infinity": _INF, "NaN": _NAN}.__getitem__
    memo = {}


_scan_once = None
if _json is not None:
    try:
        _scan_once = _json.make_scanner(_ScannerSettings())
    except Exception:  # pragma: no cover
        _scan_once = None


def _json_error(msg, doc, pos):
    from json.decoder import JSONDecodeError

    return JSONDecodeError(msg, doc, pos)


def json_loads(data):
    """Parse a JSON document (str or UTF-8 bytes) like ``json.loads``."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
        if data.startswith("\ufeff"):
            data = data[1:]  # simplejson (awslambdaric) skips a UTF-8 BOM
    if _scan_once is None:  # pragma: no cover
        import json

        return json.loads(data)
    end_of_doc = len(data)
    start = end_of_doc - len(data.lstrip(_JSON_WS))
    try:
        obj, end = _scan_once(data, start)
    except StopIteration as err:
        raise _json_error("Expecting value", data, err.value)
    if end != end_of_doc:
        tail = data[end:]
        end += len(tail) - len(tail.lstrip(_JSON_WS))
        if end != end_of_doc:
            raise _json_error("Extra data", data, end)
    return obj


# A Decimal is emitted verbatim: the default hook returns a tagged string,
# and the tag (with its quotes) is cut out of the finished document.  The tag
# holds a per-process random nonce and NUL characters, so no real string
# can be mistaken for one.
_RAW_NONCE = "lamina-raw-" + os.urandom(8).hex() + ":"
_RAW_TAG = "\x00" + _RAW_NONCE
_RAW_OPEN = '"\\u0000' + _RAW_NONCE
_RAW_CLOSE = '\\u0000"'


def _json_default(obj):
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return _NAN
        return _RAW_TAG + str(obj) + "\x00"
    raise TypeError(
        "Object of type %s is not JSON serializable" % (obj.__class__.__name__,)
    )


def _splice_raw(text):
    parts = text.split(_RAW_OPEN)
    out = [parts[0]]
    for part in parts[1:]:
        cut = part.index(_RAW_CLOSE)
        out.append(part[:cut])
        out.append(part[cut + len(_RAW_CLOSE):])
    return "".join(out)


def _decode_bytes_keys(obj, active):
    """Copy of obj with bytes dict keys decoded (simplejson's behaviour)."""
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in active:
            return obj  # a cycle: let the encoder report it
        active.add(id(obj))
        try:
            if isinstance(obj, dict):
                return dict(
                    (k.decode("utf-8") if isinstance(k, bytes) else k,
                     _decode_bytes_keys(v, active))
                    for k, v in obj.items()
                )
            return [_decode_bytes_keys(v, active) for v in obj]
        finally:
            active.discard(id(obj))
    return obj


def json_dumps(obj):
    """Serialise like awslambdaric's ``to_json``."""
    try:
        return _json_dumps(obj)
    except TypeError as err:
        text = str(err)
        if not text.startswith(_BAD_KEY):
            raise
        type_name = text[len(_BAD_KEY):]
        if type_name != "bytes":
            # The C encoder names C types with their module ("decimal.Decimal");
            # awslambdaric (simplejson) gives the bare class name.
            raise TypeError(_BAD_KEY + type_name.rsplit(".", 1)[-1])
    return _json_dumps(_decode_bytes_keys(obj, set()))


_BAD_KEY = "keys must be str, int, float, bool or None, not "


def _json_dumps(obj):
    if _json is not None:
        escape = (
            _json.encode_basestring_ascii
            if _State.ensure_ascii
            else _json.encode_basestring
        )
        encode = _json.make_encoder(
            {}, _json_default, escape, None, ": ", ", ", False, False, True
        )
        text = "".join(encode(obj, 0))
    else:  # pragma: no cover
        import json

        text = json.dumps(
            obj, default=_json_default, ensure_ascii=_State.ensure_ascii
        )
    if _RAW_OPEN in text:
        text = _splice_raw(text)
    return text


# --------------------------------------------------------------------------
# Runtime API client: HTTP/1.1 on one persistent connection.

_MSG_PEEK_NOWAIT = getattr(_socket, "MSG_PEEK", 0) | getattr(_socket, "MSG_DONTWAIT", 0)


class _ConnectionLost(Exception):
    def __init__(self, msg, answered):
        Exception.__init__(self, msg)
        self.answered = answered


class RuntimeAPI(object):
    def __init__(self, address):
        addr = address.strip()
        if "://" in addr:
            addr = addr.split("://", 1)[1]
        hostport, slash, prefix = addr.partition("/")
        prefix = prefix.strip("/")
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif ":" in hostport:
            host, _, port = hostport.rpartition(":")
        else:
            host, port = hostport, ""
        if not host:
            raise ValueError("no host in AWS_LAMBDA_RUNTIME_API=%r" % (address,))
        self.host = host
        self.port = int(port) if port else 80
        self.host_header = hostport
        self.base = ("/" + prefix if prefix else "") + "/2018-06-01/runtime/"
        self.sock = None
        self.buf = bytearray()

    # -- connection ---------------------------------------------------------

    def _connect(self):
        last = None
        host = self.host
        try:
            # Bytes, not str: a str host makes getaddrinfo load the idna
            # codec, which imports ``re`` (~10 ms).
            host = host.encode("ascii")
        except UnicodeEncodeError:
            pass
        try:
            infos = _socket.getaddrinfo(host, self.port, 0, _socket.SOCK_STREAM)
        except OSError as err:
            raise RuntimeAPIError(
                "cannot resolve %s: %s" % (self.host, err)
            )
        for family, kind, proto, _, sockaddr in infos:
            sock = _socket.socket(family, kind, proto)
            # User code may have called socket.setdefaulttimeout(); the
            # long poll must never time out.
            sock.settimeout(None)
            try:
                sock.connect(sockaddr)
            except OSError as err:
                sock.close()
                last = err
                continue
            try:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
            self.sock = sock
            self.buf = bytearray()
            return
        raise RuntimeAPIError(
            "cannot connect to %s:%d: %s" % (self.host, self.port, last)
        )

    def _close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = bytearray()

    def _peer_closed(self):
        """True if the idle keep-alive connection was closed by the server."""
        if not _MSG_PEEK_NOWAIT:
            return False
        try:
            self.sock.recv(1, _MSG_PEEK_NOWAIT)
        except BlockingIOError:
            return False  # open, nothing pending: reusable
        except OSError:
            return True
        # EOF, or bytes nobody asked for: either way not reusable.
        return True

    # -- request / response -------------------------------------------------

    def request(self, method, path, body=None, headers=()):
        """Send one request; return (status, headers, body).

        A request on a reused connection that the server closed before
        answering is sent again once on a fresh connection (the standard
        stale keep-alive case).  Anything else raises RuntimeAPIError.
        """
        lines = [
            method, " ", path, " HTTP/1.1\r\nHost: ", self.host_header,
            "\r\nUser-Agent: ", USER_AGENT, "\r\n",
        ]
        if body is not None:
            lines += ["Content-Length: ", str(len(body)), "\r\n"]
        for name, value in headers:
            lines += [name, ": ", value, "\r\n"]
        lines.append("\r\n")
        head = "".join(lines).encode("utf-8")
        for attempt in (0, 1):
            reused = self.sock is not None
            if reused and self._peer_closed():
                self._close()
                reused = False
            if self.sock is None:
                self._connect()
            try:
                if body is not None and len(body) <= 65536:
                    self.sock.sendall(head + body)
                else:
                    self.sock.sendall(head)
                    if body:
                        self.sock.sendall(body)
                return self._read_response()
            except (OSError, _ConnectionLost) as err:
                answered = getattr(err, "answered", False)
                self._close()
                if attempt == 0 and reused and not answered:
                    continue
                raise RuntimeAPIError(
                    "%s %s: connection to the Runtime API lost: %s" % (method, path, err)
                )
        raise RuntimeAPIError("unreachable")  # pragma: no cover

    def _recv_more(self, answered):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _ConnectionLost("connection closed by the Runtime API", answered)
        self.buf += chunk

    def _read_response(self):
        buf = self.buf
        answered = False
        while True:
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                if len(buf) > 1048576:
                    raise RuntimeAPIError("Runtime API response head too large")
                self._recv_more(answered or len(buf) > 0)
                buf = self.buf
                end = buf.find(b"\r\n\r\n")
            answered = True
            raw_head = bytes(buf[:end])
            del buf[: end + 4]
            try:
                head = raw_head.decode("utf-8")
            except UnicodeDecodeError:
                head = raw_head.decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            try:
                version, status = parts[0], int(parts[1])
            except (IndexError, ValueError):
                raise RuntimeAPIError("bad HTTP status line %r" % (lines[0],))
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:
                continue
            break
        body = self._read_body(status, headers)
        conn = headers.get("connection", "").lower()
        if conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive"):
            self._close()
        return status, headers, body

    def _read_body(self, status, headers):
        if status in (204, 304):
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = headers.get("content-length")
        if length is None:
            # No framing: the body runs to the end of the connection.
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            body = bytes(self.buf)
            self._close()
            return body
        length = int(length)
        buf = self.buf
        if len(buf) >= length:
            body = bytes(buf[:length])
            del buf[:length]
            return body
        # Receive the rest straight into one preallocated buffer (events
        # can be 6 MB).
        out = bytearray(length)
        have = len(buf)
        out[:have] = buf
        view = memoryview(out)
        while have < length:
            got = self.sock.recv_into(view[have:], length - have)
            if not got:
                raise _ConnectionLost("connection closed mid-body", True)
            have += got
        view.release()
        self.buf = bytearray()
        return bytes(out)

    def _read_line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            self._recv_more(True)

    def _read_chunked(self):
        pieces = []
        while True:
            size = int(self._read_line().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._read_line():
                    pass
                return b"".join(pieces)
            while len(self.buf) < size + 2:
                self._recv_more(True)
            pieces.append(bytes(self.buf[:size]))
            del self.buf[: size + 2]

    # -- Runtime API operations ---------------------------------------------

    def next_invocation(self):
        status, headers, body = self.request("GET", self.base + "invocation/next")
        if status != 200:
            raise RuntimeAPIError(
                "GET next: HTTP %d: %s" % (status, body[:500].decode("utf-8", "replace"))
            )
        return headers, body

    def _post(self, path, body, headers):
        status, _, answer = self.request("POST", self.base + path, body, headers)
        if 200 <= status < 300:
            return
        text = "POST %s: HTTP %d: %s" % (
            path, status, answer[:500].decode("utf-8", "replace"))
        if status >= 500:
            raise RuntimeAPIError(text)
        # 4xx (unknown request id, payload too large...): the invocation is
        # settled on the server side; keep serving.
        _warn(text)

    def post_response(self, request_id, data, content_type):
        self._post(
            "invocation/" + request_id + "/response",
            data,
            [("Content-Type", content_type)],
        )

    def post_error(self, request_id, error, xray_cause):
        self._post(
            "invocation/" + request_id + "/error",
            json_dumps(error).encode("utf-8"),
            _error_headers(error, xray_cause),
        )

    def post_init_error(self, error):
        status, _, answer = self.request(
            "POST", self.base + "init/error", json_dumps(error).encode("utf-8"),
            _error_headers(error, None),
        )
        if status != 202:
            _warn("POST init/error: HTTP %d: %s" % (
                status, answer[:500].decode("utf-8", "replace")))


def _error_headers(error, xray_cause):
    headers = [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Function-Error-Type", error.get("errorType") or "Unhandled"),
    ]
    if xray_cause is not None:
        cause = json_dumps(xray_cause)
        if len(cause.encode("utf-8")) >= XRAY_CAUSE_MAX:
            cause = ""
        headers.append(("Lambda-Runtime-Function-XRay-Error-Cause", cause))
    return headers


def _warn(text):
    try:
        sys.stderr.write("[lamina-bootstrap] %s\n" % (text,))
        sys.stderr.flush()
    except Exception:
        pass


# --------------------------------------------------------------------------
# The context object (attributes, methods and reprs as awslambdaric has them).


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self):
        self.cognito_identity_id = None
        self.cognito_identity_pool_id = None

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = [
        "installation_id", "app_title", "app_version_name",
        "app_version_code", "app_package_name",
    ]

    def __init__(self, fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    def __repr__(self):
        return (
            "Client([installation_id=%s,app_title=%s,app_version_name=%s,"
            "app_version_code=%s,app_package_name=%s])" % (
                self.installation_id, self.app_title, self.app_version_name,
                self.app_version_code, self.app_package_name)
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __init__(self, fields):
        self.custom = fields.get("custom")
        self.env = fields.get("env")
        client = fields.get("client")
        self.client = None if client is None else Client(client)

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (
            self.custom, self.env, self.client)


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext(object):
    def __init__(self, request_id, client_context, cognito_identity,
                 deadline_ms, invoked_function_arn=None, tenant_id=None):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        w3c = {}
        if isinstance(client_context, dict) and "w3c" in client_context:
            raw = client_context.pop("w3c")
            if isinstance(raw, dict):
                for key in _W3C_FIELDS:
                    value = raw.get(key)
                    if isinstance(value, str):
                        w3c[key] = value
        self._w3c_fields = w3c
        self.client_context = (
            None if client_context is None else ClientContext(client_context)
        )
        self.identity = CognitoIdentity()
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get(
                "cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        left = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def w3c(self):
        return dict(self._w3c_fields)

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])" % (
                self.aws_request_id, self.log_group_name, self.log_stream_name,
                self.function_name, self.memory_limit_in_mb, self.function_version,
                self.invoked_function_arn, self.client_context, self.identity,
                self.tenant_id)
        )


def _parse_json_header(value, what):
    try:
        return json_loads(value)
    except Exception as err:
        raise Fault(ERR_CONTEXT_UNMARSHAL,
                    "Unable to parse %s JSON: %s" % (what, err))


# --------------------------------------------------------------------------
# Errors: payloads and the stdout rendering.


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _is_bootstrap_frame(filename):
    return "/bootstrap.py" in filename or filename == _OWN_FILE


def _user_frames(tb):
    """Traceback entries as 4-tuples, minus the runtime's leading frames."""
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if not _is_bootstrap_frame(frame[0]):
            return frames[i:]
    return frames


def _format_frames(frames):
    import traceback

    return traceback.format_list(frames)


def _xray_cause(error_type, message, frames):
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    stack = []
    paths = []
    for filename, lineno, name, _ in frames:
        stack.append({"label": name, "path": filename, "line": lineno})
        if filename not in paths:
            paths.append(filename)
    return {
        "working_directory": cwd,
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": paths,
    }


def _leading_nbsp(line):
    stripped = line.lstrip(" ")
    return NBSP * (len(line) - len(stripped)) + stripped


def log_error(error):
    """Write an error to stdout as one log event, like awslambdaric."""
    if _State.log_json:
        record = {
            "timestamp": time.strftime(JSON_LOG_DATEFMT, time.gmtime(time.time())),
            "level": "ERROR",
        }
        record.update(error)
        lines = [json_dumps(record)]
    else:
        head = "[ERROR]"
        error_type = error.get("errorType")
        message = error.get("errorMessage")
        if error_type:
            head += " " + error_type
        if message:
            if error_type:
                head += ":"
            head += " " + message
        lines = [head]
        stack = error.get("stackTrace")
        if stack is not None:
            lines.append("Traceback (most recent call last):")
            for entry in stack:
                if entry == "":
                    lines.append("")
                else:
                    lines.extend(_leading_nbsp(l) for l in entry.splitlines())
    _write_stdout("\r".join(lines) + "\n")


def _write_stdout(text):
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except Exception:
        pass


# --------------------------------------------------------------------------
# logging: the root logger writes AWS's format to stdout, set up the moment
# user code imports ``logging`` (awslambdaric imports it eagerly, which costs
# more than the rest of this bootstrap).


def _setup_logging(logging):
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            sys.stdout.write(self.format(record))

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _State.request_id or ""
            record.tenant_id = _State.tenant_id
            return True

    handler = LambdaLoggerHandler()
    if _State.log_json:
        handler.setFormatter(_make_json_formatter(logging)())
    else:
        handler.setFormatter(logging.Formatter(TEXT_LOG_FORMAT, TEXT_LOG_DATEFMT))
    if _State.log_level in getattr(logging, "_nameToLevel", {}):
        root.setLevel(_State.log_level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


def _make_json_formatter(logging):
    import json

    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    class JsonFormatter(logging.Formatter):
        def __init__(self):
            logging.Formatter.__init__(self, datefmt=JSON_LOG_DATEFMT)

        def format(self, record):
            record.levelno = min(50, max(0, record.levelno)) // 10 * 10
            record.levelname = logging.getLevelName(record.levelno)
            exc_info = record.exc_info
            if isinstance(record.msg, dict) and not record.args:
                message = record.msg
            else:
                message = record.getMessage()
            stack = error_type = error_message = location = None
            if exc_info:
                import traceback

                stack = traceback.format_tb(exc_info[2])
                error_type = exc_info[0].__name__
                error_message = str(exc_info[1])
                location = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            out = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "message": message,
                "logger": record.name,
                "stackTrace": stack,
                "errorType": error_type,
                "errorMessage": error_message,
                "requestId": getattr(record, "aws_request_id", None),
                "location": location,
            }
            if getattr(record, "tenant_id", None) is not None:
                out["tenantId"] = record.tenant_id
            for key, value in record.__dict__.items():
                if key not in _JSON_LOG_RESERVED and key not in out:
                    out[key] = value
            return encode(dict((k, v) for k, v in out.items() if v is not None)) + "\n"

    return JsonFormatter


class _LoggingLoader(object):
    """Wraps the loader of ``logging`` to configure it right after it runs."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        loader = self._loader
        module.__loader__ = loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = loader
        loader.exec_module(module)
        try:
            _setup_logging(module)
        except Exception as err:  # never break the user's import
            _warn("could not set up logging: %r" % (err,))

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _LoggingImportHook(object):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _LoggingLoader(spec.loader)
            return spec
        return None


def _hook_logging():
    logging = sys.modules.get("logging")
    if logging is not None:
        _setup_logging(logging)
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


def _log_unhandled_warning():
    try:
        import logging  # configured by the import hook

        logging.warning(UNHANDLED_WARNING)
    except Exception:
        pass


# --------------------------------------------------------------------------
# Loading the handler.


def _import_handler(handler):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as err:
        raise Fault(ERR_MALFORMED_HANDLER, "Bad handler '%s': %s" % (handler, err))
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault(
                ERR_BUILTIN_CONFLICT,
                "Cannot use built-in module %s as a handler module" % (module_name,),
            )
        import importlib

        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as err:
        raise Fault(ERR_IMPORT_MODULE,
                    "Unable to import module '%s': %s" % (module_name, err))
    except SyntaxError as err:
        trace = ['  File "%s" Line %s\n    %s' % (err.filename, err.lineno, err.text)]
        raise Fault(ERR_SYNTAX,
                    "Syntax error in module '%s': %s" % (module_name, err), trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(ERR_HANDLER_NOT_FOUND, "Handler '%s' missing on module '%s'" % (
            function_name, module_name))


def load_handler(handler):
    """Return (handler_function, None) or (None, init_error_payload)."""
    try:
        return _import_handler(handler), None
    except Fault as fault:
        return None, make_error(fault.msg, fault.error_type, fault.trace)
    except Exception:
        _, value, tb = sys.exc_info()
        frames = _user_frames(tb)
        return None, make_error(str(value), type(value).__name__, _format_frames(frames))


# --------------------------------------------------------------------------
# One invocation.


def _int_header(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def marshal_response(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return json_dumps(result).encode("utf-8"), "application/json"
    except Exception as err:
        raise Fault(ERR_MARSHAL, "Unable to marshal response: %s" % (err,))


def unmarshal_event(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json_loads(body)
    except Exception as err:
        raise Fault(ERR_UNMARSHAL, "Unable to unmarshal input: %s" % (err,))


def handle_invocation(api, handler, headers, body):
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    tenant_id = headers.get("lambda-runtime-aws-tenant-id")
    _State.request_id = request_id
    _State.tenant_id = tenant_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    elif "_X_AMZN_TRACE_ID" in os.environ:
        del os.environ["_X_AMZN_TRACE_ID"]

    error = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        if client_context:
            client_context = _parse_json_header(client_context, "Client Context")
        else:
            client_context = None
        cognito = headers.get("lambda-runtime-cognito-identity")
        if cognito:
            cognito = _parse_json_header(cognito, "Cognito Identity")
        else:
            cognito = None
        context = LambdaContext(
            request_id, client_context, cognito,
            _int_header(headers.get("lambda-runtime-deadline-ms")),
            headers.get("lambda-runtime-invoked-function-arn"),
            tenant_id,
        )
        event = unmarshal_event(body, headers.get("content-type", "application/json"))
        result = handler(event, context)
        data, content_type = marshal_response(result)
    except Fault as fault:
        cause = _xray_cause("LambdaValidationError", fault.msg, [])
        error = make_error(fault.msg, fault.error_type, fault.trace, request_id)
    except Exception:
        _, value, tb = sys.exc_info()
        frames = _user_frames(tb)
        cause = _xray_cause(type(value).__name__, str(value), frames)
        error = make_error(str(value), type(value).__name__, _format_frames(frames),
                           request_id)
        del tb, value

    if error is not None:
        log_error(error)
        api.post_error(request_id, error, cause)
    else:
        api.post_response(request_id, data, content_type)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Process setup and main loop.


def setup_sys_path(env):
    task_root = env.get("LAMBDA_TASK_ROOT") or "/var/task"
    opt_root = env.get("LAMINA_OPT_ROOT") or "/opt"
    layer_python = os.path.join(opt_root, "python")
    first = [
        task_root,
        os.path.join(layer_python, "lib", "python%d.%d" % sys.version_info[:2],
                     "site-packages"),
        layer_python,
    ]
    sdk = env.get("LAMINA_RUNTIME_SDK")
    rest = [p for p in sys.path if p not in first and p != sdk]
    sys.path[:] = first + ([sdk] if sdk else []) + rest
    # As AWS's bootstrap does: each of them is also a site directory, so
    # ``.pth`` files in the function code or in a layer are honoured (their
    # directories are appended to sys.path, their ``import`` lines run).
    site = sys.modules.get("site")
    if site is not None:
        for directory in first:
            try:
                site.addsitedir(directory)
            except Exception as err:
                _warn("could not process .pth files in %s: %r" % (directory, err))
    # Also as AWS: child Python processes see the runtime directory.
    runtime_dir = env.get("LAMBDA_RUNTIME_DIR")
    if runtime_dir and "PYTHONPATH" not in env:
        env["PYTHONPATH"] = runtime_dir + (":" + sdk if sdk else "")


def _unbuffered(stream, fd):
    """Equivalent of ``python -u`` for an already open std stream."""
    import io

    try:
        if stream is None or stream.fileno() != fd:
            return stream
        stream.flush()
        return io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            encoding=stream.encoding,
            errors=stream.errors,
            write_through=True,
        )
    except Exception:
        return stream


def _flush_and_exit(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def configure(env):
    _State.log_json = (env.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    level = env.get("AWS_LAMBDA_LOG_LEVEL")
    _State.log_level = {None: "", "TRACE": "DEBUG"}.get(level, level).upper()
    execution_env = env.get("AWS_EXECUTION_ENV") or ""
    ensure_ascii = True
    if execution_env.startswith("AWS_Lambda_python3."):
        try:
            ensure_ascii = int(execution_env[len("AWS_Lambda_python3."):]) < 12
        except ValueError:
            pass
    _State.ensure_ascii = ensure_ascii


def _snapshot_and_restore(api, control_fd):
    """SnapStart: runs the before-snapshot hooks and becomes the template
    (``lamina_snapstart``); returns in each copy restored from it, after its
    after-restore hooks.  A hook that raises fails the Init (before the
    snapshot) or the restore, with awslambdaric's error types."""
    import lamina_snapstart

    try:
        lamina_snapstart.run_before_snapshot()
        api._close()
        lamina_snapstart.serve(control_fd)
        lamina_snapstart.run_after_restore()
    except lamina_snapstart.HookError as err:
        cause = err.cause
        frames = _user_frames(cause.__traceback__)
        error = make_error(str(cause), err.error_type, _format_frames(frames))
        log_error(error)
        api.post_init_error(error)
        _flush_and_exit(1)


def main(argv):
    env = os.environ
    template_fd = env.pop("_LAMINA_TEMPLATE_FD", None)
    sys.stdout = _unbuffered(sys.stdout, 1)
    sys.stderr = _unbuffered(sys.stderr, 2)
    configure(env)
    address = env.get("AWS_LAMBDA_RUNTIME_API")
    try:
        api = RuntimeAPI(address or "")
    except ValueError as err:
        _warn("AWS_LAMBDA_RUNTIME_API is missing or malformed: %s" % (err,))
        _flush_and_exit(2)
    handler_name = argv[1] if len(argv) > 1 else env.get("_HANDLER", "")
    setup_sys_path(env)
    _hook_logging()

    code = 0
    try:
        handler, init_error = load_handler(handler_name)
        if init_error is not None:
            code = 1
            _log_unhandled_warning()
            log_error(init_error)
            api.post_init_error(init_error)
        else:
            if template_fd is not None:
                _snapshot_and_restore(api, int(template_fd))
            while True:
                headers, body = api.next_invocation()
                handle_invocation(api, handler, headers, body)
    except RuntimeAPIError as err:
        _warn(str(err))
        code = 1 if code else 3
    except SystemExit as exc:
        status = exc.code
        if status is None:
            code = 0
        elif isinstance(status, int):
            code = status & 0xFF
        else:
            _warn(str(status))
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _flush_and_exit(code)


_OWN_FILE = main.__code__.co_filename

if __name__ == "__main__":
    main(sys.argv)
