"""A bounded soak test of `xaiserve serve` (issue #6, SPEC §7): the server
under mixed concurrent load for a while, with bad requests mixed in.

Several client threads send, until the time is up, a seeded random mix of
good requests (predict; explain with Integrated Gradients, SmoothGrad,
Sampled Shapley, XRAI, topK -1, pictures, PNG uploads; a slowly sent body)
on the tabular, image and text fixtures, and bad ones (malformed JSON, wrong
shapes, an unknown model, oversized bodies, bad base64, corrupt and huge
images, too many image pixels, out-of-range parameters, a topK that would
wrap, a body sent too slowly, a body cut short, a client that leaves before
its answer).

It asserts that
- every good request gets 200 and exactly the answer the same request got
  alone before the load began (every method here is deterministic: seeded
  noise and permutations); those reference answers are checked for sense
  first (attributions sum to f(x) - f(baseline) within the reported
  approximationError, for Sampled Shapley exactly);
- every bad request gets its 4xx and a JSON error naming what was wrong;
- the server never crashes, and stops cleanly afterwards;
- its resident memory (VmRSS) at the end of the load is at most
  RSS_GROWTH_BOUND_MIB above its peak during the warm-up (see the bound's
  comment for the measurements behind it);
- /metrics counts what was sent.

The run lasts XAISERVE_SOAK_SECONDS (default 120) with XAISERVE_SOAK_CLIENTS
client threads (default 6). A longer run (README, "Hardening: the soak test"):
    XAISERVE_SOAK_SECONDS=1800 .venv/bin/python -m pytest -s tests/e2e/test_soak.py
prints its summary (requests per kind, RSS start/warm/peak/end) with -s.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import io
import json
import os
import random
import re
import select
import socket
import struct
import threading
import time
import zlib
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import CRASH_MARKERS, Reply, demo_model_flags, read_instances, running_server

SOAK_SECONDS = float(os.environ.get("XAISERVE_SOAK_SECONDS", "120"))
CLIENTS = int(os.environ.get("XAISERVE_SOAK_CLIENTS", "6"))
# The first WARM_UP_FRACTION of the load (at most WARM_UP_MAX_SECONDS) is
# warm-up: thread stacks, allocator arenas and TensorFlow's per-shape caches
# grow to their working size there.
WARM_UP_FRACTION = 0.25
WARM_UP_MAX_SECONDS = 60.0
# VmRSS at the end of the load (the peak of its last tenth) may exceed the
# peak of the warm-up by at most this much. Measured on the 2-core machine
# (README, "Hardening: the soak test"): the RSS settles within 5 s at
# ~370 MiB; its peak per minute then stays within 2 MiB over 10 minutes and
# 209k requests (growth after warm-up +2.3 MiB in a 120 s run, -0.4 MiB in a
# 600 s run), while in-flight requests swing it by ~9 MiB. 16 MiB is above
# that noise, and a leak of 0.6 KiB per request (the ~30k requests after a
# 120 s run's warm-up) would exceed it.
RSS_GROWTH_BOUND_MIB = 16

MAX_BODY = 1 << 20
MAX_INSTANCES = 8
# --client-timeout: the "slow client" kind sends its body within ~0.6 s, the
# "body sent too slowly" kind dribbles it for ever and must get 408 after this.
CLIENT_TIMEOUT = 3

TABULAR = read_instances("tabular_mlp")
IMAGE = read_instances("shapes_cnn")
TEXT = read_instances("text_classifier")
IMAGE_HEIGHT, IMAGE_WIDTH = len(IMAGE[0]), len(IMAGE[0][0])
# Four uploads of the model's size fit in one request's pixel budget; five do not.
MAX_IMAGE_PIXELS = 4 * IMAGE_HEIGHT * IMAGE_WIDTH


def png_upload(pixels) -> dict:
    """A PNG of an image instance (values in [0, 1]) as {"b64": ...}."""
    array = np.clip(np.rint(np.asarray(pixels) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"b64": base64.b64encode(buffer.getvalue()).decode()}


def png_claiming(width: int, height: int) -> dict:
    """A crafted PNG: a 1x1 file whose header claims width x height pixels
    (its CRC fixed): a few dozen bytes that would decode to gigabytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, format="PNG")
    png = bytearray(buffer.getvalue())
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return {"b64": base64.b64encode(bytes(png)).decode()}


def ig(steps: int, **extra) -> dict:
    return {"integratedGradientsAttribution": {"stepCount": steps, **extra}}


# --------------------------------------------------------------------------
# What the clients send
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of request. Good kinds (status 200) are compared with their
    reference answer; bad ones must get `status` with every phrase in the
    error message. `send` overrides the plain JSON POST (raw sockets)."""

    name: str
    weight: int
    method: str = "POST"
    path: str = ""
    body: Any = None
    status: int = 200
    phrases: tuple[str, ...] = ()
    # "", "slow" (body in 3 pieces), "trickle" (a byte every 0.25 s until the
    # server answers), "truncated" (body cut, socket closed), "abandoned" (closed before the answer)
    send: str = ""

    @property
    def good(self) -> bool:
        return self.status == 200


GOOD = [
    Kind("tabular predict", 6, path="/v1/models/tabular:predict", body={"instances": TABULAR}),
    Kind("tabular IG", 6, path="/v1/models/tabular:explain", body={"instances": TABULAR[:2]}),
    Kind("tabular IG topK -1", 2, path="/v1/models/tabular:explain", body={"instances": TABULAR[2:3], "parameters": {**ig(30), "topK": -1}}),
    Kind("tabular SmoothGrad", 3, path="/v1/models/tabular:explain",
         body={"instances": TABULAR[:1], "parameters": ig(20, smoothGradConfig={"noiseSigma": 0.5, "noisySampleCount": 4})}),
    Kind("tabular Shapley", 3, path="/v1/models/tabular:explain",
         body={"instances": TABULAR[1:2], "parameters": {"sampledShapleyAttribution": {"pathCount": 4}}}),
    Kind("image predict", 3, path="/v1/models/image:predict", body={"instances": IMAGE[:2]}),
    Kind("image IG", 3, path="/v1/models/image:explain", body={"instances": IMAGE[:1], "parameters": ig(20)}),
    Kind("image IG picture", 1, path="/v1/models/image:explain", body={"instances": IMAGE[1:2], "parameters": {**ig(10), "visualize": True}}),
    Kind("image XRAI", 1, path="/v1/models/image:explain", body={"instances": IMAGE[2:3], "parameters": {"xraiAttribution": {"stepCount": 8}}}),
    Kind("image XRAI picture", 1, path="/v1/models/image:explain",
         body={"instances": IMAGE[3:4], "parameters": {"xraiAttribution": {"stepCount": 8}, "visualize": True}}),
    # 20 steps: the first image's output changes little from the baseline
    # (0.96 to 0.99 with the fixture trained on session 19's machine), and at
    # 10 steps its completeness gap was 0.69 of that change, above the 0.5 checked.
    Kind("image PNG upload explain", 2, path="/v1/models/image:explain",
         body={"instances": [png_upload(IMAGE[0])], "parameters": ig(20)}),
    Kind("image PNG uploads predict", 2, path="/v1/models/image:predict", body={"instances": [png_upload(p) for p in IMAGE]}),
    Kind("text predict", 3, path="/v1/models/text:predict", body={"instances": TEXT}),
    Kind("text IG", 3, path="/v1/models/text:explain", body={"instances": TEXT[:2], "parameters": ig(25)}),
    Kind("list models", 1, method="GET", path="/v1/models"),
    Kind("healthz", 1, method="GET", path="/healthz"),
    Kind("tabular IG, slow client", 1, path="/v1/models/tabular:explain", body={"instances": TABULAR[:2]}, send="slow"),
]

BAD = [
    Kind("malformed JSON", 2, path="/v1/models/tabular:explain", body=b'{"instances": [[1, 2,', status=400, phrases=("not valid JSON",)),
    Kind("wrong shape", 2, path="/v1/models/tabular:explain", body={"instances": [TABULAR[0][:5]]}, status=400,
         phrases=("instance 0", "expected shape [30]", "got [5]")),
    Kind("wrong image shape", 1, path="/v1/models/image:predict", body={"instances": [IMAGE[0][:3]]}, status=400, phrases=("instance 0",)),
    Kind("unknown input", 1, path="/v1/models/tabular:predict", body={"instances": [{"features": TABULAR[0], "bogus": 1}]},
         status=400, phrases=("unknown input 'bogus'",)),
    Kind("unknown model", 2, path="/v1/models/zebra:explain", body={"instances": TABULAR[:1]}, status=404, phrases=("zebra",)),
    Kind("oversized body", 1, path="/v1/models/tabular:explain", body=b'{"instances": [' + b"1.0, " * (MAX_BODY // 4) + b"1.0]}",
         status=413, phrases=(str(MAX_BODY), "--max-body-bytes")),
    Kind("too many instances", 1, path="/v1/models/tabular:predict", body={"instances": TABULAR[:1] * (MAX_INSTANCES + 1)},
         status=413, phrases=("--max-instances",)),
    Kind("bad base64 image", 2, path="/v1/models/image:explain", body={"instances": [{"b64": "%%not base64%%"}]}, status=400,
         phrases=("instance 0, input 'image'", "base64")),
    Kind("corrupt image", 1, path="/v1/models/image:predict",
         body={"instances": [{"b64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()}]}, status=400,
         phrases=("corrupt PNG data",)),
    Kind("huge image header", 1, path="/v1/models/image:explain", body={"instances": [png_claiming(60000, 50000)]}, status=413,
         phrases=("60000x50000 = 3000000000 pixels", str(MAX_IMAGE_PIXELS))),
    Kind("too many image pixels", 1, path="/v1/models/image:predict", body={"instances": [png_upload(IMAGE[0])] * 5}, status=413,
         phrases=("instance 4", f"decode to {MAX_IMAGE_PIXELS} pixels together", "--max-image-pixels")),
    Kind("stepCount 101", 1, path="/v1/models/tabular:explain", body={"instances": TABULAR[:1], "parameters": ig(101)},
         status=400, phrases=("stepCount", "[1, 100]")),
    Kind("pathCount 51", 1, path="/v1/models/tabular:explain",
         body={"instances": TABULAR[:1], "parameters": {"sampledShapleyAttribution": {"pathCount": 51}}}, status=400, phrases=("pathCount",)),
    Kind("topK that would wrap", 1, path="/v1/models/tabular:explain",
         body=b'{"instances": [' + json.dumps(TABULAR[0]).encode() + b'], "parameters": {"topK": 18446744073709551615}}',
         status=400, phrases=("topK", "-1 for all outputs", "18446744073709551615")),
    Kind("XRAI on a table", 1, path="/v1/models/tabular:explain", body={"instances": TABULAR[:1], "parameters": {"xraiAttribution": {}}},
         status=400, phrases=("XRAI",)),
    Kind("GET on :explain", 1, method="GET", path="/v1/models/tabular:explain", status=405, phrases=("POST",)),
    Kind("body sent too slowly", 1, path="/v1/models/tabular:explain", body={"instances": TABULAR[:1]}, status=408,
         phrases=(f"within {CLIENT_TIMEOUT} s of its first byte", "--client-timeout"), send="trickle"),
]

# Requests whose outcome the client cannot see: the server must only survive them.
BLIND = [
    Kind("body cut short", 1, path="/v1/models/tabular:explain", body={"instances": TABULAR[:1]}, status=0, send="truncated"),
    Kind("client left before the answer", 1, path="/v1/models/image:explain", body={"instances": IMAGE[:1], "parameters": ig(20)},
         status=0, send="abandoned"),
]

KINDS = GOOD + BAD + BLIND


def encode(body: Any) -> bytes:
    return body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()


def raw_request(server, kind: Kind, rng: random.Random) -> Reply | None:
    """The kinds sent over a bare socket: `trickle` sends the body a byte at
    a time until the server answers, and returns the answer; `truncated` and
    `abandoned` close the connection early."""
    body = encode(kind.body)
    head = (
        f"{kind.method} {kind.path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=120) as sock:
        sock.sendall(head)
        if kind.send == "trickle":
            for i in range(len(body)):
                sock.sendall(body[i : i + 1])
                if select.select([sock], [], [], 0.25)[0]:
                    break  # the answer (a 408): stop sending and read it
            import http.client

            response = http.client.HTTPResponse(sock)
            response.begin()
            return Reply(response.status, dict(response.getheaders()), response.read())
        if kind.send == "truncated":
            sock.sendall(body[: len(body) // 2])
            time.sleep(rng.uniform(0, 0.2))
            return
        if kind.send == "abandoned":
            sock.sendall(body)
            time.sleep(rng.uniform(0, 0.05))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
            return
        raise AssertionError(f"raw send {kind.send!r}")


def slow_post(server, kind: Kind, rng: random.Random):
    """A good request whose body arrives in three pieces over ~0.3-0.6 s."""
    import http.client

    body = encode(kind.body)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        connection.putrequest("POST", kind.path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        third = len(body) // 3
        for piece in (body[:third], body[third : 2 * third], body[2 * third :]):
            time.sleep(rng.uniform(0.1, 0.2))
            connection.send(piece)
        response = connection.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def send(server, kind: Kind, rng: random.Random):
    if kind.send == "slow":
        return slow_post(server, kind, rng)
    if kind.send:
        return raw_request(server, kind, rng)
    return server.request(kind.method, kind.path, kind.body)


# --------------------------------------------------------------------------
# What good answers look like
# --------------------------------------------------------------------------


def leaves(value) -> list[float]:
    """Every number of a featureAttributions value (scalar, nested list, or
    object keyed by feature)."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [float(value)]


def check_reference(kind: Kind, body: dict) -> None:
    """A reference answer makes sense: one explanation (and prediction) per
    instance, finite attributions that sum to f(x) - f(baseline) as the
    reported approximationError says (Sampled Shapley: exactly), pictures
    when asked for."""
    if kind.path.endswith(":predict"):
        assert len(body["predictions"]) == len(kind.body["instances"])
        assert np.isfinite(leaves(body["predictions"])).all()
        return
    if not kind.path.endswith(":explain"):
        return
    parameters = kind.body.get("parameters", {})
    assert len(body["explanations"]) == len(kind.body["instances"])
    assert len(body["predictions"]) == len(kind.body["instances"])
    for explanation in body["explanations"]:
        entries = explanation["attributions"]
        assert len(entries) == (2 if parameters.get("topK") == -1 else 1)
        for entry in entries:
            values = np.array(leaves(entry["featureAttributions"]))
            assert values.size and np.isfinite(values).all()
            difference = entry["instanceOutputValue"] - entry["baselineOutputValue"]
            gap = abs(values.sum() - difference)
            if "sampledShapleyAttribution" in parameters:
                assert gap <= 1e-5 * max(1.0, abs(difference)), f"{kind.name}: Shapley values do not sum to f(x) - f(b)"
            elif "smoothGradConfig" not in str(parameters):
                reported = entry["approximationError"]
                assert abs(gap / max(abs(difference), 1e-12) - reported) <= 1e-4, (
                    f"{kind.name}: sum {values.sum()} vs f(x) - f(b) = {difference}: gap {gap}, reported error {reported}"
                )
                assert reported < 0.5, f"{kind.name}: approximationError {reported}"
            if parameters.get("visualize"):
                picture = entry["visualizations"]["image"]
                assert picture["mimeType"] == "image/png"
                assert base64.b64decode(picture["data"]).startswith(b"\x89PNG")


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status.read(), re.M).group(1))


def requests_by_code(metrics: str) -> collections.Counter:
    """xaiserve_requests_total summed by HTTP code, without the /metrics scrapes."""
    counts: collections.Counter = collections.Counter()
    for model, method, code, value in re.findall(
        r'^xaiserve_requests_total\{model="([^"]*)",method="([^"]*)",code="(\d+)"\} (\d+)$',
        metrics,
        re.M,
    ):
        if method != "metrics":
            counts[int(code)] += int(value)
    return counts


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server(
        *demo_model_flags(),
        "--max-body-bytes", MAX_BODY,
        "--max-instances", MAX_INSTANCES,
        "--max-image-pixels", MAX_IMAGE_PIXELS,
        "--poll-seconds", 0,
        "--client-timeout", CLIENT_TIMEOUT,
        log_dir=tmp_path_factory.mktemp("soak-logs"),
    ) as running:
        yield running


def test_soak_mixed_concurrent_load(server):
    pid = server.process.pid
    rss_start = rss_kib(pid)

    # Each good kind answered alone first: the answer every later copy must equal.
    references = {}
    for kind in GOOD:
        reply = send(server, kind, random.Random(0))
        body = reply.expect(200)
        check_reference(kind, body)
        references[kind.name] = body
    sent: collections.Counter = collections.Counter({200: len(GOOD)})

    # The load: CLIENTS threads, each a seeded mix of KINDS until the deadline.
    failures: list[str] = []
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + SOAK_SECONDS
    weights = [kind.weight for kind in KINDS]

    def client(worker: int) -> None:
        rng = random.Random(1000 + worker)
        while time.monotonic() < deadline and len(failures) < 20:
            kind = rng.choices(KINDS, weights)[0]
            try:
                reply = send(server, kind, rng)
                problem = None
                if reply is None:
                    pass
                elif kind.good:
                    if reply.status != 200:
                        problem = f"HTTP {reply.status}: {reply.raw[:300]!r}"
                    elif reply.json() != references[kind.name]:
                        problem = "answer differs from the reference answer"
                else:
                    reply.expect_error(kind.status, phrases=kind.phrases)
            except (AssertionError, OSError) as error:
                problem = f"{type(error).__name__}: {str(error)[:500]}"
            with lock:
                counts[kind.name] += 1
                if problem is not None:
                    failures.append(f"{kind.name}: {problem}")
                elif reply is not None:
                    sent[reply.status] += 1

    samples: list[tuple[float, int]] = []
    threads = [threading.Thread(target=client, args=(worker,), daemon=True) for worker in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        if server.process.poll() is not None:
            break
        samples.append((time.monotonic() - start, rss_kib(pid)))
        time.sleep(0.5)
    for thread in threads:
        thread.join(timeout=180)
    duration = time.monotonic() - start
    alive = server.process.poll() is None
    log = server.log()

    warm_up = min(WARM_UP_FRACTION * SOAK_SECONDS, WARM_UP_MAX_SECONDS)
    mib = lambda kib: kib / 1024  # noqa: E731
    rss_warm = max((kib for t, kib in samples if t <= warm_up), default=rss_start)
    rss_peak = max((kib for _, kib in samples), default=rss_start)
    tail = [kib for t, kib in samples if t >= duration - max(5.0, 0.1 * duration)] or [rss_warm]
    rss_end = max(tail)
    good = sum(counts[k.name] for k in GOOD)
    bad = sum(counts[k.name] for k in BAD)
    blind = sum(counts[k.name] for k in BLIND)
    summary = "\n".join(
        [
            f"soak: {duration:.0f} s, {CLIENTS} clients, {good + bad + blind} requests "
            f"({(good + bad + blind) / duration:.1f}/s): {good} good, {bad} bad, {blind} cut short or abandoned",
            *(f"  {counts[k.name]:6d}  {k.name}" for k in KINDS),
            f"  VmRSS MiB: start {mib(rss_start):.0f}, after warm-up ({warm_up:.0f} s) {mib(rss_warm):.0f}, "
            f"peak {mib(rss_peak):.0f}, end {mib(rss_end):.0f}; growth after warm-up "
            f"{mib(rss_end - rss_warm):+.1f} (bound {RSS_GROWTH_BOUND_MIB})",
        ]
    )
    print("\n" + summary)
    report = os.environ.get("XAISERVE_SOAK_REPORT")
    if report:
        with open(report, "w") as out:
            json.dump({"seconds": duration, "clients": CLIENTS, "counts": dict(counts), "rss_kib": samples,
                       "rss_start_kib": rss_start, "rss_warm_kib": rss_warm, "rss_peak_kib": rss_peak,
                       "rss_end_kib": rss_end}, out)

    assert alive, f"the server died under load\n{summary}\n{log[-3000:]}"
    for marker in CRASH_MARKERS:
        assert marker not in log, f"the server log shows {marker!r}\n{summary}"
    assert not failures, f"{len(failures)} failed requests:\n" + "\n".join(failures[:20]) + f"\n{summary}"
    assert all(counts[k.name] > 0 for k in KINDS) or SOAK_SECONDS < 60, f"some kinds were never sent\n{summary}"
    assert rss_end - rss_warm <= RSS_GROWTH_BOUND_MIB * 1024, f"resident memory grew after warm-up\n{summary}"

    # The server still answers, and answers right.
    assert server.get("/healthz").expect(200) == {"status": "ok"}
    assert server.post(GOOD[1].path, GOOD[1].body).expect(200) == references[GOOD[1].name]
    sent[200] += 2

    # /metrics counted every answer the clients saw. The blind requests may
    # add to the counts (a body cut short: 400 or nothing; a client gone:
    # the 200 it never read), so they widen the range by their number.
    # (The last answers are counted a moment after they are sent.)
    counted = requests_by_code(server.metrics_once(
        lambda text: all(requests_by_code(text)[code] >= n for code, n in sent.items())))
    blind_sent = sum(counts[k.name] for k in BLIND)
    for code in sorted(set(sent) | set(counted)):
        assert sent[code] <= counted[code] <= sent[code] + blind_sent, (
            f"/metrics counts {counted[code]} answers with HTTP {code}; the clients saw {sent[code]} "
            f"(+ up to {blind_sent} unseen)\ncounted {dict(counted)}\nsent {dict(sent)}"
        )
