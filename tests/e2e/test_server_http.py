"""HTTP as real clients speak it, against `xaiserve serve` over loopback:
content codings of request bodies and responses (RFC 9110 §8.4, §12.5.3),
Range headers on responses that are not resources (§14.2), methods the
server has no route for (§9.1, §15.6.2), TF Serving's per-version status,
a listen backlog that takes bursts of connections, and the headers and
status lines of closing and 499 responses. cpp-httplib alone got each of
these wrong (found by exploratory testing in session 17, the last by a
review)."""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import gzip
import http.client
import json
import re
import shutil
import socket
import subprocess
import time
import zlib

import pytest

from conftest import fixture_dir, read_instances, running_server

INSTANCE = read_instances("tabular_mlp")[0]
PREDICT = "/v1/models/tabular:predict"


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}",
                        log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def exchange(server, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> http.client.HTTPResponse:
    """One request on a new connection; the response with its body read (`.data`)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.data = response.read()
    connection.close()
    return response


def error_of(response) -> dict:
    return json.loads(response.data)["error"]


@pytest.fixture(scope="module")
def plain_prediction(server):
    response = exchange(server, "POST", PREDICT, json.dumps({"instances": [INSTANCE]}).encode())
    assert response.status == 200, response.data
    return json.loads(response.data)


@pytest.mark.parametrize(
    "method,path,body,headers,status",
    [("GET", "/healthz", None, {}, 200),
     ("GET", "/v1/models/nope", None, {}, 404),
     ("POST", PREDICT, b"{}", {"Content-Length": "abc"}, 400),  # refused before routing
     ("TRACE", "/healthz", None, {}, 501)],
    ids=["200", "404", "400-framing", "501"],
)
def test_every_response_carries_the_date(server, method, path, body, headers, status):
    """RFC 9110 §6.6.1: an origin server with a clock sends Date; none did."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    response.read()
    connection.close()

    assert response.status == status
    date = email.utils.parsedate_to_datetime(response.getheader("Date"))
    assert abs((date - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60, response.getheader("Date")


@pytest.mark.parametrize("coding", ["gzip", "GZIP", "x-gzip", " Gzip ", "deflate", "identity"])
def test_a_compressed_body_is_decoded_whatever_the_case_of_its_coding(server, plain_prediction, coding):
    body = json.dumps({"instances": [INSTANCE]}).encode()
    compressed = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress,
                  "identity": lambda b: b}[coding.strip().lower()](body)

    response = exchange(server, "POST", PREDICT, compressed, {"Content-Encoding": coding})

    assert response.status == 200, response.data
    assert json.loads(response.data) == plain_prediction


def test_a_coding_the_server_cannot_decode_is_415_naming_it_and_the_ones_it_can(server):
    response = exchange(server, "POST", PREDICT, json.dumps({"instances": [INSTANCE]}).encode(),
                        {"Content-Encoding": "zstd"})

    assert response.status == 415, response.data
    assert "'zstd'" in error_of(response)["message"]
    assert response.getheader("Accept-Encoding") == "gzip, deflate, br"


def test_a_body_that_is_not_what_its_coding_says_is_a_clear_400(server):
    response = exchange(server, "POST", PREDICT, json.dumps({"instances": [INSTANCE]}).encode(),
                        {"Content-Encoding": "gzip"})

    assert response.status == 400, response.data
    assert "not valid gzip data" in error_of(response)["message"]


@pytest.mark.parametrize("accept,expected", [
    ("gzip", "gzip"),
    ("gzip;q=0, identity", None),
    ("br;q=0, gzip;q=0, identity;q=1", None),
    ("GZIP", "gzip"),
    ("br;q=0, gzip", "gzip"),
])
def test_the_response_is_compressed_only_in_a_coding_the_client_accepts(server, accept, expected):
    response = exchange(server, "GET", "/v1/models/tabular", headers={"Accept-Encoding": accept})

    assert response.status == 200
    assert response.getheader("Content-Encoding") == expected
    assert response.getheader("Vary") == "Accept-Encoding"
    body = gzip.decompress(response.data) if expected == "gzip" else response.data
    assert json.loads(body)["name"] == "tabular"


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/models/tabular", None),
    ("POST", PREDICT, json.dumps({"instances": [INSTANCE]}).encode()),
    ("GET", "/v1/models/nowhere", None),  # an error too
])
def test_a_range_header_is_ignored_and_the_whole_response_sent(server, method, path, body):
    whole = exchange(server, method, path, body)

    ranged = exchange(server, method, path, body, {"Range": "bytes=0-9"})

    assert ranged.status == whole.status
    assert ranged.getheader("Content-Range") is None
    assert json.loads(ranged.data) == json.loads(whole.data)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_no_response_offers_byte_ranges(server, method):
    """cpp-httplib said "Accept-Ranges: bytes" on a HEAD, where a range asked for gets the whole answer."""
    response = exchange(server, method, "/v1/models")

    assert response.status == 200
    assert response.getheader("Accept-Ranges") is None


def test_a_malformed_range_header_is_416_saying_to_leave_it_out(server):
    response = exchange(server, "GET", "/healthz", headers={"Range": "pages=all"})

    assert response.status == 416
    assert "without a Range header" in error_of(response)["message"]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_a_method_the_server_does_not_implement_is_501(server, method):
    response = exchange(server, method, "/healthz")

    assert response.status == 501, response.data
    assert error_of(response)["status"] == "UNIMPLEMENTED"
    assert f"{method} is not implemented" in error_of(response)["message"]
    assert exchange(server, "GET", "/healthz").status == 200


def raw_reply(port: int, request: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    """Sends `request` on a new connection and reads until the server closes
    it (or `timeout`); what came back, and the seconds it took."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        sent = time.monotonic()
        reply = b""
        with contextlib.suppress(socket.timeout):
            while chunk := s.recv(65536):
                reply += chunk
        return reply, time.monotonic() - sent


CLIENT_TIMEOUT = 3


@pytest.fixture(scope="module")
def short_timeout_server(xaiserve, tmp_path_factory):
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", "--client-timeout", CLIENT_TIMEOUT,
                        log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_pri_is_501_at_once_not_a_408_after_the_client_timeout(short_timeout_server):
    """cpp-httplib parses PRI (HTTP/2's preface method) and expects a body with
    it: a PRI without one held a worker for the whole --client-timeout, then
    got 408, where every other method without a route gets 501 at once."""
    server = short_timeout_server
    reply, seconds = raw_reply(server.port, b"PRI /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 "), reply[:500]
    assert seconds < CLIENT_TIMEOUT / 2, f"answered after {seconds:.1f} s"
    assert b"\r\nConnection: close" in head, head
    error = json.loads(body)["error"]
    assert error["status"] == "UNIMPLEMENTED" and "PRI is not implemented" in error["message"], error
    assert server.get("/healthz").status == 200


@pytest.fixture(scope="module")
def probe_server(xaiserve, tmp_path_factory):
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", "--probe-port", "0",
                        log_dir=tmp_path_factory.mktemp("logs")) as running:
        [running.probe_port] = [int(m.group(1)) for line in running.stdout_lines
                                if (m := re.search(r"also on port (\d+)", line))]
        yield running


PROBE_EXCHANGES = {
    "healthz": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    "metrics gzip": (b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 200),
    "another path": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    "another method": (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    "PRI": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 501),
}


@pytest.mark.parametrize("name", list(PROBE_EXCHANGES))
def test_every_probe_port_response_varies_with_accept_encoding(probe_server, name):
    """The probe port compresses as the API's port does (/metrics for a
    scraper that accepts gzip), but its responses said no Vary at all."""
    request, status = PROBE_EXCHANGES[name]

    reply, _ = raw_reply(probe_server.probe_port, request)

    status_line, fields = header_fields(reply)
    assert status_line.startswith(b"HTTP/1.1 %d " % status), reply[:500]
    assert values_of(fields, "vary") == ["Accept-Encoding"], fields
    if name == "metrics gzip":
        assert values_of(fields, "content-encoding") == ["gzip"], fields


def test_pri_on_the_probe_port_names_what_was_sent(probe_server):
    """HTTP/2's preface fails cpp-httplib's request-line parse before the path
    is set: the message said "'PRI ' is not served", with an empty path."""
    reply, _ = raw_reply(probe_server.probe_port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 "), reply[:500]
    message = json.loads(body)["error"]["message"]
    assert message.startswith("'PRI *' is not served on the probe port"), message


def test_pri_with_a_path_on_the_probe_port_is_501_at_once(probe_server):
    """cpp-httplib waits for a body with PRI: on the probe port `curl -X PRI .../healthz` held one
    of its two threads for the whole second, then got 408, where the API's port says 501 at once."""
    reply, seconds = raw_reply(probe_server.probe_port, b"PRI /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

    status_line, fields = header_fields(reply)
    assert status_line.startswith(b"HTTP/1.1 501 "), reply[:500]
    assert seconds < 0.5, f"answered after {seconds:.2f} s"
    assert values_of(fields, "connection") == ["close"], fields
    assert "'PRI /healthz' is not served on the probe port" in json.loads(reply.partition(b"\r\n\r\n")[2])["error"][
        "message"]


def header_fields(reply: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """The status line and the header fields (names lowercased) of a raw reply."""
    head = reply.partition(b"\r\n\r\n")[0].decode("latin-1")
    status_line, *lines = head.split("\r\n")
    fields = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    return status_line.encode(), fields


def values_of(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for field, value in fields if field == name]


TABULAR_BODY = json.dumps({"instances": [INSTANCE]}).encode()


def chunked_body(body: bytes) -> bytes:
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


# Responses after which the server closes the connection, each made a
# different way: cpp-httplib's own close on the client's request, the refusal
# before routing, a close after a routed answer, a refusal in the body
# reader, and the error handler's 408.
CLOSING_EXCHANGES = {
    "client asks to close": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200),
    "GET with a body": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde", 400),
    "chunked POST": (b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunked_body(TABULAR_BODY), 200),
    "coding it cannot decode": (b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Encoding: zstd\r\n"
                                b"Content-Length: %d\r\n\r\n" % len(TABULAR_BODY) + TABULAR_BODY, 415),
    "body too slow (408)": (b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}", 408),
}


@pytest.mark.parametrize("name", list(CLOSING_EXCHANGES))
def test_a_closing_response_says_connection_close_once_and_no_keep_alive(short_timeout_server, name):
    """cpp-httplib adds its own "Connection: close" to a request that asked
    for one, beside the server's (two lines), and "Keep-Alive: timeout=...,
    max=..." beside the server's "Connection: close" on the others."""
    request, status = CLOSING_EXCHANGES[name]

    reply, _ = raw_reply(short_timeout_server.port, request, timeout=CLIENT_TIMEOUT + 10)

    status_line, fields = header_fields(reply)
    assert status_line.startswith(b"HTTP/1.1 %d " % status), reply[:500]
    assert values_of(fields, "connection") == ["close"], fields
    assert values_of(fields, "keep-alive") == [], fields


def test_a_kept_alive_response_says_keep_alive(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    connection.close()

    assert response.getheader("Connection") is None
    assert response.getheader("Keep-Alive", "").startswith("timeout=")


def test_a_compressed_refusal_says_it_varies_with_accept_encoding(server):
    """A 415 made while the body is read is compressed for a client that
    accepts gzip, like every response, and must say Vary: Accept-Encoding
    too (a cache would hand the gzip body to clients that cannot read it)."""
    response = exchange(server, "POST", PREDICT, TABULAR_BODY, {"Content-Encoding": "zstd", "Accept-Encoding": "gzip"})

    assert response.status == 415
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert "'zstd'" in json.loads(gzip.decompress(response.data))["error"]["message"]


def test_a_request_whose_client_left_is_499_client_closed_request(server):
    """A client that half-closes its socket after its request is taken to have
    left (as nginx and Go take it): the explanation stops with 499, which
    cpp-httplib wrote as "499 Internal Server Error"."""
    # Many instances, each run apart: the server sees the half-close between two of them.
    body = json.dumps({"instances": read_instances("tabular_mlp") * 8,
                       "parameters": {"integratedGradientsAttribution": {"stepCount": 100}}}).encode()
    request = b"POST /v1/models/tabular:explain HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk

    status_line, fields = header_fields(reply)
    assert status_line == b"HTTP/1.1 499 Client Closed Request", reply[:500]
    # The server closes after it: it said "Keep-Alive: timeout=2, max=1000".
    assert values_of(fields, "connection") == ["close"], fields
    assert values_of(fields, "keep-alive") == [], fields


def test_an_http_1_0_request_without_keep_alive_is_answered_as_closing(server):
    """HTTP/1.0 closes after each response unless the client asks to keep
    it: cpp-httplib closed it, after saying "Keep-Alive: timeout=..."."""
    reply, seconds = raw_reply(server.port, b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")

    status_line, fields = header_fields(reply)
    assert status_line.startswith(b"HTTP/1.1 200 "), reply[:500]
    assert values_of(fields, "connection") == ["close"], fields
    assert values_of(fields, "keep-alive") == [], fields
    assert seconds < 5  # closed at once, not after the keep-alive timeout


def test_an_http_1_0_keep_alive_response_says_keep_alive(server):
    """An HTTP/1.0 client that asks for keep-alive keeps its connection only
    if the response says "Connection: keep-alive"; cpp-httplib kept it open
    without saying so, and the client waited for a close that never came."""
    request = b"GET /healthz HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        replies = []
        for _ in range(2):  # the second request on the same connection is answered too
            s.sendall(request)
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.endswith(b"}"):
                chunk = s.recv(65536)
                assert chunk, f"the server closed the connection after {reply!r}"
                reply += chunk
            replies.append(reply)

    for reply in replies:
        status_line, fields = header_fields(reply)
        assert status_line.startswith(b"HTTP/1.1 200 "), reply[:500]
        assert values_of(fields, "connection") == ["keep-alive"], fields


def test_a_get_route_allows_head_too(server):
    refused = exchange(server, "PUT", "/v1/models/tabular", b"{}")
    assert refused.status == 405
    assert refused.getheader("Allow") == "GET, HEAD"

    head = exchange(server, "HEAD", "/v1/models/tabular")
    assert head.status == 200


def test_a_version_reports_its_tf_serving_status(server):
    response = exchange(server, "GET", "/v1/models/tabular/versions/0")

    assert response.status == 200
    assert json.loads(response.data)["model_version_status"] == [
        {"version": "0", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]


def test_a_null_explanation_spec_override_is_no_override(server):
    """proto3 JSON writes an unset message field as null."""
    with_null = exchange(server, "POST", "/v1/models/tabular:explain",
                         json.dumps({"instances": [INSTANCE], "explanationSpecOverride": None}).encode())
    without = exchange(server, "POST", "/v1/models/tabular:explain",
                       json.dumps({"instances": [INSTANCE]}).encode())

    assert with_null.status == 200, with_null.data
    assert json.loads(with_null.data) == json.loads(without.data)


def test_the_listen_backlog_takes_a_burst_of_connections(server):
    """cpp-httplib listens with a backlog of 5: 100 clients connecting at once
    lost SYNs and waited for the kernel's retry (1 s and more)."""
    ss = shutil.which("ss")
    assert ss, "ss (iproute2) is needed; scripts/setup.sh installs it"
    listing = subprocess.run([ss, "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True,
                             check=True).stdout.split()
    # State Recv-Q Send-Q Local Peer: a listening socket's Send-Q is its backlog.
    assert int(listing[2]) >= 128, listing


def test_a_request_target_in_absolute_form_is_routed_by_its_path(server, plain_prediction):
    """As a client sends it through a proxy (RFC 9112 §3.2.2): it got 404."""
    base = f"http://{server.host}:{server.port}"
    assert exchange(server, "GET", f"{base}/healthz").status == 200
    body = json.dumps({"instances": [INSTANCE]}).encode()
    response = exchange(server, "POST", f"{base}{PREDICT}", body)
    assert response.status == 200
    assert json.loads(response.data) == plain_prediction
    log = server.log_once(lambda text: f"POST {PREDICT}" in text)
    assert f"POST {base}" not in log  # logged by its path
