"""Load straight over FastCGI, no web server between: for callgrind, where nginx would only add
noise, and for timing a responder's start to its first answer. The records are fcgi_raw's, the
integration tests' raw client, which reads answers with deadlines."""

import socket
import threading

import fcgi_raw

from . import EXCHANGE_IDENTITIES


def request_params(path, email="user1@example.com"):
    """The params nginx sends for GET `path`, with the signed-in user as INBOX_EMAIL."""
    return [("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("DOCUMENT_URI", path), ("SCRIPT_NAME", path),
            ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1"), ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("REMOTE_ADDR", "127.0.0.1"), ("INBOX_EMAIL", email)]


class FastCGIClient:
    """GET requests one after another on one connection, kept open between them."""

    def __init__(self, port, timeout=30.0):
        self.timeout = timeout
        self.conn = fcgi_raw.Connection(port, timeout=timeout)
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get(self, params, keep=True):
        """The answer's FCGI_STDOUT (CGI headers and body)."""
        sent = self.conn.send(fcgi_raw.begin(flags=fcgi_raw.KEEP_CONN if keep else 0) + fcgi_raw.params(params)
                              + fcgi_raw.stdin())
        response = self.conn.read_response(timeout=self.timeout)
        if not sent or not response.ended:
            raise ConnectionError(f"FastCGI connection closed mid-answer: {response.describe()}")
        return response.stdout

    def close(self):
        self.conn.close()


def fixed_load(port, requests, connections, path="/app-inbox/token", identities=EXCHANGE_IDENTITIES):
    """`requests` token requests over `connections` kept FastCGI connections, in parallel."""
    errors = []

    def worker(index):
        try:
            client = FastCGIClient(port, timeout=120)
            for n in range(index, requests, connections):
                answer = client.get(request_params(path, f"user{n % identities}@example.com"))
                if not answer.startswith(b"Status: 200"):
                    errors.append(answer[:100])
            client.close()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]!r}")
