"""How the server keeps pace with its clients (src/http/client_deadlines.h).

Slow clients cannot take the server: a client that trickles its request
(a byte every 0.2 s, for ever) is answered 408 and disconnected once the
--client-timeout has passed since its first byte, so the worker threads it
held serve others again. Here the server has 2 worker threads and a 2 s
client timeout, and 2 slow clients; without the deadline, every other
request would wait behind them for as long as they liked. The same holds
for clients that read their answer too slowly.

The server holds a response's writes to send them together, but a client
that asks for "100 Continue" gets it before the server waits for its body."""

from __future__ import annotations

import http.client
import json
import socket
import re
import threading
import time

import pytest

from conftest import demo_model_flags, read_instances, running_server

TABULAR = read_instances("tabular_mlp")
IMAGE = read_instances("shapes_cnn")
CLIENT_TIMEOUT = 2


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server(
        *demo_model_flags(),
        "--threads", "2", "--client-timeout", CLIENT_TIMEOUT,
        log_dir=tmp_path_factory.mktemp("logs"),
    ) as running:
        yield running


class SlowClient(threading.Thread):
    """Sends `head` at once, then `trickle` a byte every `interval` seconds
    (repeating it for ever) until the server closes the connection; keeps what
    the server sent back."""

    def __init__(self, port: int, head: bytes, trickle: bytes, interval: float = 0.2, give_up: float = 60.0):
        super().__init__(daemon=True)
        self.port, self.head, self.trickle, self.interval, self.give_up = port, head, trickle, interval, give_up
        self.reply = b""
        self.seconds = 0.0
        self.started = threading.Event()

    def run(self):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.settimeout(0.01)
            self.started.set()
            try:
                s.sendall(self.head)
                i = 0
                while time.monotonic() - start < self.give_up:
                    s.sendall(self.trickle[i % len(self.trickle) : i % len(self.trickle) + 1])
                    i += 1
                    try:
                        data = s.recv(65536)
                        if not data:
                            break
                        self.reply += data
                    except socket.timeout:
                        pass
                    time.sleep(self.interval)
            except OSError:  # the server closed the connection while we sent
                pass
            s.settimeout(5)
            try:
                while data := s.recv(65536):
                    self.reply += data
            except OSError:
                pass
        self.seconds = time.monotonic() - start


def status_of(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split(b" ", 2)[1])


def test_slow_clients_get_408_and_do_not_keep_the_workers(server):
    headers_for_ever = SlowClient(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ", b"abcdefgh")
    request_line_for_ever = SlowClient(server.port, b"", b"GET /v1/models/tabular/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    slow = [headers_for_ever, request_line_for_ever]
    for client in slow:
        client.start()
        client.started.wait(5)
    time.sleep(0.5)  # both workers are now reading a slow request

    # Answered once a worker is free again, long before the slow clients stop
    # on their own (a minute); without a deadline this waits the whole minute.
    started = time.monotonic()
    reply = server.post("/v1/models/tabular:predict", {"instances": TABULAR[:1]}, timeout=30)
    waited = time.monotonic() - started
    reply.expect(200)
    assert waited < 20, f"a good request waited {waited:.1f} s behind 2 slow clients"

    for client in slow:
        client.join(30)
        assert not client.is_alive(), "the server did not close a slow client's connection"
        assert client.seconds < 20, f"a slow client was held for {client.seconds:.1f} s"
        assert status_of(client.reply) == 408, client.reply[:300]
        body = client.reply.split(b"\r\n\r\n", 1)[1]
        for phrase in (b'"code":408', b"DEADLINE_EXCEEDED", b"--client-timeout", b"within 2 s of its first byte"):
            assert phrase in body, body
    # The one whose request line never arrived is logged like every request.
    # Its latency is how long the server waited for it (it used to be
    # --client-timeout whatever the wait).
    log = server.log_once(lambda t: "method=unparsed" in t)
    logged = re.search(r" - - model=- method=unparsed status=408 latency_ms=([0-9.]+) \(no whole request in time\)",
                       log)
    assert logged, log[-2000:]
    assert CLIENT_TIMEOUT * 1000 <= float(logged.group(1)) < CLIENT_TIMEOUT * 1000 + 3000, logged.group(0)


class SlowReader(threading.Thread):
    """Asks for a large answer (about 9 MB: 64 images explained for every
    output; more than the kernel's send buffer holds, up to 4 MB here, so the
    server's writes wait for the client), then takes it at most 64 KB every
    0.1 s: steadily enough that no single write waits out cpp-httplib's 5 s,
    so only the response deadline stops it, and slowly enough that the whole
    answer would take about 15 s. Counts what it got before the connection
    ended."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.received = 0
        self.seconds = 0.0

    def run(self):
        body = json.dumps({"instances": (IMAGE * 16)[:64],
                           "parameters": {"integratedGradientsAttribution": {"stepCount": 2}, "topK": -1}}).encode()
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.sendall(b"POST /v1/models/image:explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            try:
                while time.monotonic() - start < 60 and (data := s.recv(65536)):
                    self.received += len(data)
                    time.sleep(0.1)
            except OSError:  # reset by the server
                pass
        self.seconds = time.monotonic() - start


def test_slow_readers_are_cut_off_and_do_not_keep_the_workers(server):
    readers = [SlowReader(server.port) for _ in range(2)]
    for reader in readers:
        reader.start()
    time.sleep(1.0)  # both workers are now explaining, then writing to a slow reader

    # Served once the explaining and then the client timeout (2 s) are over;
    # without the response deadline, after the slow readers took everything.
    started = time.monotonic()
    server.post("/v1/models/tabular:predict", {"instances": TABULAR[:1]}, timeout=60).expect(200)
    waited = time.monotonic() - started
    for reader in readers:
        reader.join(60)
        assert not reader.is_alive()
    assert waited < 10, f"a good request waited {waited:.1f} s behind 2 slow readers"
    for reader in readers:
        assert reader.received < 8_000_000, f"a slow reader got the whole answer ({reader.received} bytes)"
    log = server.log_once(lambda t: t.count("(the client did not take the response)") >= 2)
    assert log.count("POST /v1/models/image:explain model=image") >= 2, log[-2000:]
    assert log.count("(the client did not take the response)") == 2, log[-2000:]
    text = server.metrics_once(lambda t: "xaiserve_responses_not_taken_total{" in t)
    assert 'xaiserve_responses_not_taken_total{model="image",method="explain:integrated-gradients"} 2' in text, text


def test_a_body_sent_too_slowly_gets_a_408_json_error(server):
    head = (
        b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    client = SlowClient(server.port, head, b'{"instances": [[1, 2, 3]]}')
    client.start()
    client.join(30)
    assert not client.is_alive()
    assert status_of(client.reply) == 408, client.reply[:300]
    assert b"DEADLINE_EXCEEDED" in client.reply and b"send it at once" in client.reply
    text = server.metrics_once(lambda t: 'method="predict",code="408"' in t)
    assert 'xaiserve_requests_total{model="tabular",method="predict",code="408"}' in text
    log = server.log_once(lambda t: "status=408" in t)
    assert "POST /v1/models/tabular:predict model=tabular method=predict status=408" in log


def test_a_request_sent_in_pieces_within_the_timeout_is_served(server):
    body = json.dumps({"instances": TABULAR[:1]}).encode()
    pieces = [
        b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\n",
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n",
        body[: len(body) // 2],
        body[len(body) // 2 :],
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        for piece in pieces:
            s.sendall(piece)
            time.sleep(0.1)
        response = http.client.HTTPResponse(s)
        response.begin()
        assert response.status == 200, response.read()[:500]
        assert "predictions" in json.loads(response.read())


def test_a_client_that_expects_100_continue_gets_it_before_sending_its_body(server):
    body = json.dumps({"instances": TABULAR[:1]}).encode()
    head = (
        b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        interim = b""
        while b"\r\n\r\n" not in interim:
            data = s.recv(1)  # socket.timeout (a failure) if the server holds it back
            assert data, interim
            interim += data
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
        s.sendall(body)
        response = http.client.HTTPResponse(s)
        response.begin()
        assert response.status == 200
        assert "predictions" in json.loads(response.read())


def test_a_connection_that_sends_nothing_is_logged_with_the_time_it_was_given(server):
    """A new connection gets 5 s for its first byte (README); its 408 was
    logged with --client-timeout as its latency (2 s here; 30 s by default)."""
    before = server.log().count("method=unparsed")  # the server's log is written by a thread of its own
    started = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=30) as silent:
        reply = silent.recv(65536)
    waited = time.monotonic() - started
    assert status_of(reply) == 408
    log = server.log_once(lambda t: t.count("method=unparsed") > before)
    latencies = [float(m) for m in re.findall(r"method=unparsed status=408 latency_ms=([0-9.]+)", log)]
    assert any(abs(latency / 1000 - waited) < 1.0 for latency in latencies), (waited, latencies)


def test_a_request_stalled_in_its_headers_is_logged_with_its_client_and_wait(server):
    """Its 408 was logged with latency 0 and client '-' (cpp-httplib had not
    parsed it, so neither the request's trace nor its address was known)."""
    with socket.create_connection((server.host, server.port), timeout=30) as stalled:
        stalled.sendall(b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\n")
        reply = stalled.recv(65536)
    assert status_of(reply) == 408
    log = server.log_once(lambda t: re.search(r"POST /v1/models/tabular:predict .*status=408", t) is not None)
    [line] = [l for l in log.splitlines() if re.search(r"POST /v1/models/tabular:predict .*status=408", l)][-1:]
    assert " 127.0.0.1 POST " in line, line
    latency = float(re.search(r"latency_ms=([0-9.]+)", line).group(1))
    assert CLIENT_TIMEOUT * 1000 <= latency < CLIENT_TIMEOUT * 1000 + 3000, line
