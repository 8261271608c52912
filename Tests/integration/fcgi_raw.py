"""A small FastCGI client that can send what a web server never would.

nginx and Apache only send well-formed records, so the tests that check how the responder copes
with anything else build the bytes themselves: records of any type, request id and padding,
BEGIN_REQUEST with any role and flags, name-value pairs with 1- or 4-byte lengths (or lengths
that lie), management records. Reading back is lenient: records are collected until the request
ends or the peer closes, and a close is a result, not an error, because "closed without an
answer" is what several tests expect. Every read has a deadline, so a hang fails a test instead
of stalling the suite.

Spec: https://fastcgi-archives.github.io/FastCGI_Specification.html
"""

import json
import socket
import struct
import time
from dataclasses import dataclass, field

VERSION_1 = 1

# Record types (section 8).
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

# Roles and the BEGIN_REQUEST flag.
RESPONDER = 1
AUTHORIZER = 2
FILTER = 3
KEEP_CONN = 1

# END_REQUEST protocolStatus values.
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3

# version, type, requestId, contentLength, paddingLength, reserved
HEADER = struct.Struct(">BBHHBx")
MAX_CONTENT = 0xFFFF


def _bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8")


# ---- building records -------------------------------------------------------------------------

def record(type_, request_id, content=b"", padding=None, version=VERSION_1, content_length=None):
    """One record. `padding=None` pads to a multiple of 8, as nginx does; an int sends that many
    padding bytes. `content_length` puts another length in the header than the content has."""
    content = _bytes(content)
    if padding is None:
        padding = -len(content) % 8
    length = len(content) if content_length is None else content_length
    return HEADER.pack(version, type_, request_id, length, padding) + content + b"\0" * padding


def encode_length(n, long=None):
    """A name or value length: one byte below 128, else four with the top bit set. `long=True`
    forces the four-byte form (legal for any length), which is also how to send up to 0x7fffffff
    whatever the bytes that follow."""
    if long is None:
        long = n > 127
    if long:
        return struct.pack(">I", 0x80000000 | n)
    if n > 127:
        raise ValueError(f"{n} does not fit a one-byte length")
    return bytes([n])


def name_value(name, value, long_name=None, long_value=None):
    name, value = _bytes(name), _bytes(value)
    return encode_length(len(name), long_name) + encode_length(len(value), long_value) + name + value


def pairs(items):
    """Name-value pairs in order; a list rather than a dict, so that a name can repeat."""
    return b"".join(name_value(name, value) for name, value in items)


def stream(type_, request_id, data, end=True, chunk=MAX_CONTENT):
    """A stream (PARAMS, STDIN) split into records of at most `chunk` bytes, ended by an empty
    record unless `end=False`."""
    data = _bytes(data)
    out = [record(type_, request_id, data[i:i + chunk]) for i in range(0, len(data), chunk)]
    if end:
        out.append(record(type_, request_id))
    return b"".join(out)


def begin(request_id=1, role=RESPONDER, flags=0, body=None):
    """BEGIN_REQUEST; `body` replaces the 8-byte body (role, flags, 5 reserved bytes)."""
    return record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", role, flags) if body is None else body)


def params(items, request_id=1, end=True):
    return stream(PARAMS, request_id, pairs(items), end=end)


def stdin(data=b"", request_id=1, end=True):
    return stream(STDIN, request_id, data, end=end)


def abort(request_id=1):
    return record(ABORT_REQUEST, request_id)


def get_values(names, padding=None):
    """A management query (request id 0): each name with an empty value."""
    return record(GET_VALUES, 0, pairs((name, b"") for name in names), padding=padding)


def cgi_params(path, method="GET", extra=()):
    """Roughly what nginx's fastcgi_params sends for `method path`, then `extra` pairs as given
    (so identity params, repeats included, come last, where a site's config adds them)."""
    uri_path, _, query = path.partition("?")
    return [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "fcgi_raw"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_METHOD", method),
        ("REQUEST_URI", path),
        ("DOCUMENT_URI", uri_path),
        ("SCRIPT_NAME", uri_path),
        ("QUERY_STRING", query),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "40000"),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "localhost"),
    ] + list(extra)


def request_bytes(path, method="GET", extra=(), request_id=1, flags=0, role=RESPONDER, body=b""):
    """A complete, well-formed request: BEGIN, PARAMS, STDIN, each stream ended."""
    return (begin(request_id, role=role, flags=flags)
            + params(cgi_params(path, method, extra), request_id)
            + stdin(body, request_id))


# ---- reading the answer -----------------------------------------------------------------------

@dataclass
class Record:
    type: int
    request_id: int
    content: bytes


def parse_stdout(data):
    """CGI-style output into (status, headers with lower-case names, body). No `Status:` header
    means 200, as for a CGI responder."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    headers = {}
    for line in head.splitlines():
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers["status"].split()[0]) if "status" in headers else 200
    return status, headers, body


@dataclass
class Response:
    """What came back for one request: records of other request ids are kept in `records` too."""
    records: list = field(default_factory=list)
    ended: bool = False      # an END_REQUEST for the request arrived
    closed: bool = False     # the peer closed the connection before that
    app_status: int = None
    protocol_status: int = None
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def answered(self):
        """Any output or END_REQUEST for the request."""
        return self.ended or bool(self.stdout) or bool(self.stderr)

    @property
    def status(self):
        return parse_stdout(self.stdout)[0] if self.stdout else None

    @property
    def headers(self):
        return parse_stdout(self.stdout)[1] if self.stdout else {}

    @property
    def body(self):
        return parse_stdout(self.stdout)[2] if self.stdout else b""

    def json(self):
        return json.loads(self.body)

    def describe(self):
        kinds = [(r.type, r.request_id, len(r.content)) for r in self.records]
        return (f"ended={self.ended} closed={self.closed} protocol_status={self.protocol_status} "
                f"records(type, id, length)={kinds} stdout={self.stdout[:300]!r}")


class Connection:
    """One TCP connection to the responder. Sends raw bytes; reads records with deadlines."""

    def __init__(self, port, host="127.0.0.1", timeout=2.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.peer_closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        """Sends everything, or returns False when the peer closed or reset the connection
        first: for a test that floods the responder, being cut off is the expected outcome."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, deadline):
        """Reads more bytes; False once the peer has closed (EOF or reset). Raises TimeoutError
        when nothing arrives before `deadline`."""
        if self.peer_closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data and no close before the deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data and no close before the deadline") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.peer_closed = True
            return False
        self.buffer += chunk
        return True

    def read_record(self, timeout=2.0):
        """The next record, or None when the peer closed (a partial record at the close stays in
        `buffer`)."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= HEADER.size:
                _, type_, request_id, length, padding = HEADER.unpack_from(self.buffer)
                total = HEADER.size + length + padding
                if len(self.buffer) >= total:
                    content = self.buffer[HEADER.size:HEADER.size + length]
                    self.buffer = self.buffer[total:]
                    return Record(type_, request_id, content)
            if not self._fill(deadline):
                return None

    def read_response(self, request_id=1, timeout=2.0):
        """Records until END_REQUEST for `request_id` or the peer's close, whichever is first.
        Raises TimeoutError if neither happens within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        response = Response()
        while True:
            rec = self.read_record(max(deadline - time.monotonic(), 0.001))
            if rec is None:
                response.closed = True
                return response
            response.records.append(rec)
            if rec.request_id != request_id:
                continue
            if rec.type == STDOUT:
                response.stdout += rec.content
            elif rec.type == STDERR:
                response.stderr += rec.content
            elif rec.type == END_REQUEST:
                response.ended = True
                response.app_status, response.protocol_status = struct.unpack(">IB3x", rec.content[:8])
                return response

    def read_until_close(self, timeout=2.0):
        """Every record up to the peer's close. Raises TimeoutError if the connection is still
        open after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        records = []
        while True:
            rec = self.read_record(max(deadline - time.monotonic(), 0.001))
            if rec is None:
                return records
            records.append(rec)


def request(port, path, extra=(), method="GET", timeout=2.0, **kwargs):
    """One well-formed request on a new connection; returns its Response. `timeout` bounds the
    whole exchange, connecting included, so a caller can hold the responder to a deadline."""
    deadline = time.monotonic() + timeout
    with Connection(port, timeout=timeout) as conn:
        conn.send(request_bytes(path, method, extra, **kwargs))
        return conn.read_response(kwargs.get("request_id", 1), timeout=max(deadline - time.monotonic(), 0.001))
