"""Bad input never hurts `xaiserve serve` (SPEC §7): each gets its HTTP
status and a JSON error that says what was wrong, and the server answers
normally afterwards. A model directory that fails to load is reported on its
status route and the other models still serve."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time

import pytest

from conftest import fixture_dir, read_instances, running_server

MAX_BODY = 200_000
MAX_INSTANCES = 8
MAX_PATH_POINTS = 50_000


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    # A SavedModel whose explanation metadata is wrong: refused at load time.
    bad_metadata = models / "bad_metadata"
    shutil.copytree(fixture_dir("tabular_mlp"), bad_metadata)
    (bad_metadata / "explanation_metadata.json").write_text(
        json.dumps({"inputs": {"features": {"input_tensor_name": "features", "encoding": "telepathy"}}, "outputs": {}})
    )
    # Not a SavedModel at all.
    garbage = models / "garbage" / "1"
    garbage.mkdir(parents=True)
    (garbage / "saved_model.pb").write_bytes(b"this is not a protocol buffer")
    with running_server(
        "--model", f"tabular={fixture_dir('tabular_mlp')}",
        "--model", f"text={fixture_dir('text_classifier')}",
        "--model", f"image={fixture_dir('shapes_cnn')}",
        "--model", f"multi={fixture_dir('multi_no_xai')}",
        "--model", f"bad_metadata={bad_metadata}",
        "--model", f"garbage={models / 'garbage'}",
        "--model", f"missing={models / 'nowhere'}",
        "--max-body-bytes", MAX_BODY,
        "--max-instances", MAX_INSTANCES,
        "--max-path-points", MAX_PATH_POINTS,
        log_dir=tmp_path_factory.mktemp("logs"),
    ) as running:
        yield running


TABULAR = read_instances("tabular_mlp")[0]
TEXT = read_instances("text_classifier")[0]


def ig(steps: int) -> dict:
    return {"integratedGradientsAttribution": {"stepCount": steps}}


# (name, method, path, body, HTTP status, status name, phrases in the message)
BAD_REQUESTS = [
    ("malformed JSON", "POST", "/v1/models/tabular:explain", b'{"instances": [[1, 2,', 400, "INVALID_ARGUMENT", ["not valid JSON"]),
    ("NaN literal", "POST", "/v1/models/tabular:explain", b'{"instances": [[NaN]]}', 400, "INVALID_ARGUMENT", ["not valid JSON"]),
    ("infinite number", "POST", "/v1/models/tabular:predict", b'{"instances": [[1e999]]}', 400, "INVALID_ARGUMENT", ["1e999"]),
    ("empty body", "POST", "/v1/models/tabular:explain", b"", 400, "INVALID_ARGUMENT", ["empty"]),
    # A NUL byte ended the text for the parser: the junk after it was ignored and the request answered.
    ("NUL byte after the JSON", "POST", "/v1/models/tabular:predict", json.dumps({"instances": [TABULAR]}).encode() + b"\x00junk{{", 400, "INVALID_ARGUMENT", ["not valid JSON", "NUL byte"]),
    ("only a byte order mark", "POST", "/v1/models/tabular:predict", b"\xef\xbb\xbf\r\n", 400, "INVALID_ARGUMENT", ["the request body is empty"]),
    ("UTF-16 body", "POST", "/v1/models/tabular:predict", json.dumps({"instances": [TABULAR]}).encode("utf-16"), 400, "INVALID_ARGUMENT", ["UTF-16", "must be UTF-8"]),
    # The last "instances" counted; TF Serving takes the first.
    ("instances given twice", "POST", "/v1/models/tabular:predict", b'{"instances": [[1]], "instances": ' + json.dumps([TABULAR]).encode() + b"}", 400, "INVALID_ARGUMENT", ['"instances" appears twice']),
    ("not an object", "POST", "/v1/models/tabular:explain", [TABULAR], 400, "INVALID_ARGUMENT", ["JSON object"]),
    ("deep nesting", "POST", "/v1/models/tabular:explain", b"[" * 5000 + b"]" * 5000, 400, "INVALID_ARGUMENT", ["deeper than"]),
    ("no instances", "POST", "/v1/models/tabular:explain", {"parameters": {}}, 400, "INVALID_ARGUMENT", ['no "instances"']),
    ("empty instances", "POST", "/v1/models/tabular:explain", {"instances": []}, 400, "INVALID_ARGUMENT", ["empty"]),
    ("unknown field", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "instancez": 1}, 400, "INVALID_ARGUMENT", ["instancez"]),
    ("wrong shape", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR[:5]]}, 400, "INVALID_ARGUMENT", ["instance 0", "expected shape [30]", "got [5]"]),
    ("wrong dtype", "POST", "/v1/models/tabular:predict", {"instances": [["x"] * 30]}, 400, "INVALID_ARGUMENT", ["instance 0", "features"]),
    ("NaN as a string", "POST", "/v1/models/tabular:predict", {"instances": [["NaN"] * 30]}, 400, "INVALID_ARGUMENT", ["features"]),
    ("second instance bad", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR, TABULAR[:3]]}, 400, "INVALID_ARGUMENT", ["instance 1"]),
    ("unknown input", "POST", "/v1/models/tabular:explain", {"instances": [{"features": TABULAR, "bogus": 1}]}, 400, "INVALID_ARGUMENT", ["unknown input 'bogus'", "features"]),
    ("missing input", "POST", "/v1/models/tabular:predict", {"instances": [{"other": TABULAR}]}, 400, "INVALID_ARGUMENT", ["other"]),
    ("corrupt base64", "POST", "/v1/models/text:predict", {"instances": [{"b64": "@@not base64@@"}]}, 400, "INVALID_ARGUMENT", ["base64"]),
    ("upload to a vector input", "POST", "/v1/models/tabular:predict", {"instances": [{"b64": "AAAA"}]}, 400, "INVALID_ARGUMENT", ['a {"b64": ...} upload', "image inputs"]),
    ("corrupt base64 explained", "POST", "/v1/models/text:explain", {"instances": [{"b64": "%%%"}]}, 400, "INVALID_ARGUMENT", ["base64"]),
    ("stepCount too large", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"parameters": ig(101)}}, 400, "INVALID_ARGUMENT", ["stepCount", "100"]),
    ("stepCount negative", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"parameters": ig(-1)}}, 400, "INVALID_ARGUMENT", ["stepCount"]),
    ("pathCount too large", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"parameters": {"sampledShapleyAttribution": {"pathCount": 51}}}}, 400, "INVALID_ARGUMENT", ["pathCount", "50"]),
    ("noisySampleCount too large", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"parameters": {"integratedGradientsAttribution": {"smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 51}}}}}, 400, "INVALID_ARGUMENT", ["noisySampleCount"]),
    ("two methods", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": {**ig(5), "xraiAttribution": {}}}, 400, "INVALID_ARGUMENT", ["only one"]),
    ("topK below -1", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": {"topK": -2}}, 400, "INVALID_ARGUMENT", ["topK"]),
    ("output index out of range", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": {"outputIndices": [7]}}, 400, "INVALID_ARGUMENT", ["out of range"]),
    ("unknown outputName", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": {"outputName": "nope"}}, 400, "INVALID_ARGUMENT", ["no output named 'nope'", "its outputs"]),
    ("outputName outside parameters", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "outputName": "probabilities"}, 400, "INVALID_ARGUMENT", ['"outputName" belongs in "parameters"']),
    ("topK and outputIndices", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": {"topK": 2, "outputIndices": [1]}}, 400, "INVALID_ARGUMENT", ["give topK", "not both"]),
    ("baseline of the wrong shape", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"metadata": {"inputs": {"features": {"inputBaselines": [[1, 2]]}}}}}, 400, "INVALID_ARGUMENT", ["baseline"]),
    ("too many Shapley features", "POST", "/v1/models/image:explain", {"instances": read_instances("shapes_cnn")[:1], "parameters": {"sampledShapleyAttribution": {}}}, 400, "INVALID_ARGUMENT", ["features"]),
    ("model that cannot explain", "POST", "/v1/models/multi:explain", {"instances": read_instances("multi_no_xai")[:1]}, 400, "FAILED_PRECONDITION", ["xai_model"]),
    ("too many instances", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR] * (MAX_INSTANCES + 1)}, 413, "RESOURCE_EXHAUSTED", [f"at most {MAX_INSTANCES}", "--max-instances"]),
    ("empty columnar batch", "POST", "/v1/models/tabular:predict", {"inputs": []}, 400, "INVALID_ARGUMENT", ['"inputs" is an empty batch']),
    ("empty named columnar batch", "POST", "/v1/models/tabular:predict", {"inputs": {"features": []}}, 400, "INVALID_ARGUMENT", ['"inputs".features is an empty batch']),
    ("too many columnar rows", "POST", "/v1/models/tabular:predict", {"inputs": [TABULAR] * (MAX_INSTANCES + 1)}, 413, "RESOURCE_EXHAUSTED", ["--max-instances"]),
    ("body too large", "POST", "/v1/models/tabular:explain", b'{"instances": [' + b"1.0, " * (MAX_BODY // 4) + b"1.0]}", 413, "RESOURCE_EXHAUSTED", [str(MAX_BODY), "--max-body-bytes"]),
    ("unknown model", "POST", "/v1/models/zebra:explain", {"instances": [TABULAR]}, 404, "NOT_FOUND", ["zebra", "tabular, text"]),
    ("unknown version", "POST", "/v1/models/tabular/versions/3:explain", {"instances": [TABULAR]}, 404, "NOT_FOUND", ["version 3", "loaded versions: 0"]),
    ("version not a number", "GET", "/v1/models/tabular/versions/latest", None, 404, "NOT_FOUND", ["latest"]),
    ("unknown route", "GET", "/v2/everything", None, 404, "NOT_FOUND", ["/v1/models"]),
    ("unknown model method", "POST", "/v1/models/tabular:classify", {"instances": [TABULAR]}, 404, "NOT_FOUND", [":predict or :explain"]),
    ("GET on :explain", "GET", "/v1/models/tabular:explain", None, 405, "METHOD_NOT_ALLOWED", ["POST"]),
    ("POST on the list", "POST", "/v1/models", {}, 405, "METHOD_NOT_ALLOWED", ["GET"]),
    ("DELETE a model", "DELETE", "/v1/models/tabular", None, 405, "METHOD_NOT_ALLOWED", ["GET"]),
    ("multipart body", "POST", "/v1/models/tabular:explain", None, 400, "INVALID_ARGUMENT", ["JSON"]),
    ("PUT on :predict", "PUT", "/v1/models/tabular:predict", {"instances": [TABULAR]}, 405, "METHOD_NOT_ALLOWED", ["POST"]),
    ("OPTIONS on :explain", "OPTIONS", "/v1/models/tabular:explain", None, 405, "METHOD_NOT_ALLOWED", ["POST"]),
    ("baseline for an unknown input", "POST", "/v1/models/tabular:explain", {"instances": [TABULAR], "explanationSpecOverride": {"metadata": {"inputs": {"featurez": {"inputBaselines": [[0] * 30]}}}}}, 400, "INVALID_ARGUMENT", ["'featurez'", "inputs: features"]),
    ("XRAI on text", "POST", "/v1/models/text:explain", {"instances": [TEXT], "parameters": {"xraiAttribution": {"stepCount": 5}}}, 400, "INVALID_ARGUMENT", ["image inputs", "'tokens' is text"]),
    ("blur baseline on text", "POST", "/v1/models/text:explain", {"instances": [TEXT], "parameters": {"integratedGradientsAttribution": {"stepCount": 5, "blurBaselineConfig": {"maxBlurSigma": 2}}}}, 400, "INVALID_ARGUMENT", ["blurBaselineConfig", "'tokens' is text"]),
    ("XRAI with a baseline override", "POST", "/v1/models/image:explain", {"instances": read_instances("shapes_cnn")[:1], "parameters": {"xraiAttribution": {"stepCount": 5}}, "explanationSpecOverride": {"metadata": {"inputs": {"image": {"inputBaselines": [0]}}}}}, 400, "INVALID_ARGUMENT", ["do not apply to XRAI"]),
]


@pytest.mark.parametrize("name,method,path,body,status,status_name,phrases", BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS])
def test_bad_request_gets_a_clear_json_error(server, name, method, path, body, status, status_name, phrases):
    headers = {}
    if name == "multipart body":
        body = b"--xx\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xx--\r\n"
        headers = {"Content-Type": "multipart/form-data; boundary=xx"}

    reply = server.request(method, path, body, headers=headers)

    reply.expect_error(status, status_name, phrases)
    if status == 405:
        assert reply.headers.get("Allow") in ("GET, HEAD", "POST")


def test_the_server_still_answers_after_the_bad_requests(server):
    for name, method, path, body, *_ in BAD_REQUESTS:
        if name != "multipart body":
            server.request(method, path, body)

    assert server.get("/healthz").expect(200) == {"status": "ok"}
    response = server.post("/v1/models/tabular:explain", {"instances": [TABULAR]}).expect(200)
    assert len(response["explanations"][0]["attributions"][0]["featureAttributions"]) == 30
    assert server.process.poll() is None
    for marker in ("terminate called", "Segmentation fault", "Aborted"):
        assert marker not in server.log()


def test_a_model_that_fails_to_load_is_reported_and_the_others_serve(server):
    status = server.get("/v1/models/bad_metadata").expect(200)
    assert status["state"] == "UNAVAILABLE" and status["versions"] == []
    [failure] = status["loadErrors"]
    assert "telepathy" in failure["error"]["message"]  # names the bad field's value
    assert status["model_version_status"][0]["state"] == "END"

    garbage = server.get("/v1/models/garbage").expect(200)
    [failure] = garbage["loadErrors"]
    assert failure["version"] == 1 and failure["error"]["message"]
    # Its version route gives the same status (it was a 404 "no loaded version").
    version = server.get("/v1/models/garbage/versions/1").expect(200)
    assert version["state"] == "END" and version["error"] == failure["error"]
    assert version["model_version_status"] == [entry for entry in garbage["model_version_status"]
                                                if entry["version"] == "1"]
    server.get("/v1/models/garbage/versions/2").expect_error(404, "NOT_FOUND")

    missing = server.get("/v1/models/missing").expect(200)
    assert "does not exist" in missing["error"]["message"]

    listed = {m["name"]: m for m in server.get("/v1/models").expect(200)["models"]}
    assert listed["bad_metadata"]["state"] == "UNAVAILABLE" and listed["tabular"]["state"] == "AVAILABLE"

    server.post("/v1/models/bad_metadata:explain", {"instances": [TABULAR]}).expect_error(503, "UNAVAILABLE", ["telepathy"])
    server.post("/v1/models/garbage:predict", {"instances": [TABULAR]}).expect_error(503, "UNAVAILABLE")
    assert server.post("/v1/models/tabular:predict", {"instances": [TABULAR]}).expect(200)["predictions"]
    assert server.post("/v1/models/text:predict", {"instances": [TEXT]}).expect(200)["predictions"]


def test_a_model_that_cannot_explain_still_predicts_and_says_why(server):
    version = server.get("/v1/models/multi").expect(200)["versions"][0]
    assert version["explainable"] is False
    assert "xai_model" in version["explainError"]["message"]

    assert server.post("/v1/models/multi:predict", {"instances": read_instances("multi_no_xai")[:1]}).expect(200)


def test_errors_are_counted_in_the_metrics(server):
    server.post("/v1/models/tabular:explain", b"{").expect_error(400)
    counted = 'xaiserve_requests_total{model="tabular",method="explain",code="400"}'
    text = server.metrics_once(lambda text: counted in text)
    assert counted in text
    assert 'xaiserve_requests_total{model="",method="unknown",code="404"}' in text


# --------------------------------------------------------------------------
# How a body's length is given (Content-Length, chunked, or neither)
# --------------------------------------------------------------------------


def raw_exchange(server, request: bytes, wait_first: float = 0.0, timeout: float = 20.0) -> tuple[bytes, float]:
    """Sends `request` on a new connection (after `wait_first` seconds of
    silence), reads until the server closes or `timeout`, and returns what
    came back with the seconds it took from the request's end."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        time.sleep(wait_first)
        s.sendall(request)
        sent = time.monotonic()
        reply = b""
        try:
            while b"\r\n\r\n" not in reply or not reply_complete(reply):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            pass
        return reply, time.monotonic() - sent


def reply_complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def status_and_error(reply: bytes) -> tuple[int, dict]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)["error"] if body else {}


def test_a_post_without_a_body_is_answered_at_once(server):
    """curl -X POST without -d: no Content-Length, no chunks. The server used
    to wait for the client to close (which it never does) and answer 408 5 s
    later; it now reads no body and says it is empty."""
    request = b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\n\r\n"

    reply, seconds = raw_exchange(server, request, timeout=10)

    status, error = status_and_error(reply)
    assert status == 400 and "empty" in error["message"], reply
    assert seconds < 2.5, f"answered after {seconds:.1f} s"


@pytest.mark.parametrize(
    "header,phrase",
    [(b"Content-Length: abc", b"is not a number of bytes"), (b"Content-Length: -1", b"is not a number of bytes"),
     (b"Transfer-Encoding: gzip, chunked", b"chunked")],
)
def test_a_body_whose_end_cannot_be_found_is_400_at_once(server, header, phrase):
    request = b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n{}"

    reply, seconds = raw_exchange(server, request, timeout=10)

    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert phrase in reply and b"Connection: close" in reply, reply
    assert seconds < 2.5, f"answered after {seconds:.1f} s"


def test_a_body_announced_too_large_is_413_before_it_is_sent(server):
    """Expect: 100-continue (curl sends it for large bodies): the 413 comes
    instead of the 100, so the client never uploads the body."""
    request = (b"POST /v1/models/tabular:explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Expect: 100-continue\r\nContent-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n")

    reply, seconds = raw_exchange(server, request, timeout=10)

    assert not reply.startswith(b"HTTP/1.1 100"), reply
    status, error = status_and_error(reply)
    assert status == 413 and str(MAX_BODY) in error["message"], reply
    assert seconds < 2.5, f"answered after {seconds:.1f} s"


def test_a_new_connection_may_wait_before_its_first_request(server):
    """A loaded client may connect a few seconds before it sends: beyond the
    2 s keep-alive idle time, the first request is still served."""
    reply, _ = raw_exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", wait_first=3.0, timeout=10)

    assert reply.startswith(b"HTTP/1.1 200"), reply


def test_a_new_connection_that_sends_nothing_gets_a_408(server):
    """Instead of a silent close: a client whose first byte was merely late
    reads why its connection ended."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        start = time.monotonic()
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        waited = time.monotonic() - start

    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"Connection: close" in reply and re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT\r\n", reply)
    assert 4.5 < waited < 15, f"closed after {waited:.1f} s"


# --------------------------------------------------------------------------
# Bounds on one request's work
# --------------------------------------------------------------------------


def test_a_request_past_max_path_points_stops_with_413(server):
    """8 instances x 2 outputs x 50 noisy samples x 101 points = 80,800 rows."""
    parameters = {"integratedGradientsAttribution": {"stepCount": 100, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 50}},
                  "topK": -1}
    reply = server.post("/v1/models/tabular:explain", {"instances": [TABULAR] * MAX_INSTANCES, "parameters": parameters})

    reply.expect_error(413, "RESOURCE_EXHAUSTED", [f"more than {MAX_PATH_POINTS} path points", "--max-path-points"])
    # Its log line counts the rows it evaluated (it had none), not the run refused.
    logged = lambda log: [l for l in log.splitlines() if "tabular:explain" in l and "status=413 " in l and "path_points=" in l]
    entry = logged(server.log_once(lambda log: logged(log), timeout=10))[-1]
    assert 0 < int(entry.split("path_points=")[1].split()[0]) <= MAX_PATH_POINTS, entry
    within = server.post("/v1/models/tabular:explain", {"instances": [TABULAR], "parameters": parameters}).expect(200)
    assert len(within["explanations"][0]["attributions"]) == 2


def test_an_explanation_stops_when_its_client_goes_away(server):
    """80,800 rows (10 s or more) on the image model: 2 outputs x 10 baselines x
    40 noisy samples x 101 points;
    the client leaves after 1 s and the server stops within a run: the log
    shows the request ended with 499 soon after."""
    [image] = read_instances("shapes_cnn")[:1]
    body = json.dumps({"instances": [image], "parameters": {"integratedGradientsAttribution": {
        "stepCount": 100, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 40}}, "topK": -1},
        "explanationSpecOverride": {"metadata": {"inputs": {"image": {"inputBaselines": [b / 10 for b in range(10)]}}}}}).encode()
    request = (b"POST /v1/models/image:explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        time.sleep(1.0)
    left = time.monotonic()

    line = server.log_once(lambda log: "image:explain" in log and "status=499" in log, timeout=30)
    stopped = time.monotonic() - left
    [entry] = [l for l in line.splitlines() if "image:explain" in l and "status=499" in l]
    latency_ms = float(entry.split("latency_ms=")[1].split()[0])
    assert latency_ms < 8000, entry  # the whole request would take 10 s or more
    # The rows it evaluated before it stopped are logged (they were not): at least one run's.
    assert 0 < int(entry.split("path_points=")[1].split()[0]) < 80_800, entry
    assert stopped < 10, f"stopped {stopped:.1f} s after the client left"
    assert server.get("/healthz").expect(200) == {"status": "ok"}


def test_a_request_that_cannot_be_parsed_closes_the_connection(server):
    """What follows a malformed request line is no request to trust: one 400,
    then the end of the connection (not a 400 for every following line)."""
    reply, _ = raw_exchange(server, b"GARBAGE\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)

    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert reply.count(b"HTTP/1.1 ") == 1, reply
    assert b"Connection: close" in reply


def chunked(body: bytes, chunk_bytes: int) -> bytes:
    """`body` as chunked transfer coding, in chunks of `chunk_bytes`."""
    out = b""
    for start in range(0, len(body), chunk_bytes):
        piece = body[start:start + chunk_bytes]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_a_chunked_body_is_held_to_max_body_bytes(server):
    """cpp-httplib caps a body of known length but not a chunked one: a
    300 MB chunked body used to be read whole (and answered 200)."""
    body = json.dumps({"instances": [TABULAR]}).encode()
    padded = b" " * (MAX_BODY + 1) + body
    head = b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    reply, _ = raw_exchange(server, head + chunked(padded, 64 * 1024))
    status, error = status_and_error(reply)
    assert status == 413 and str(MAX_BODY) in error["message"], reply[:300]
    assert b"Connection: close" in reply

    small, _ = raw_exchange(server, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + chunked(body, 100))
    assert small.startswith(b"HTTP/1.1 200"), small[:300]


@pytest.mark.parametrize(
    "head,body",
    [(b"GET /v1/models/tabular HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", chunked(b"abc", 3)),
     (b"GET /v1/models/tabular HTTP/1.1\r\nHost: x\r\nContent-Length: 5", b"abcde"),
     (b"DELETE /v1/models/tabular HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", chunked(b"abc", 3))],
    ids=["get-chunked", "get-length", "delete-chunked"],
)
def test_a_body_that_would_be_left_unread_is_refused_and_the_connection_closed(server, head, body):
    """cpp-httplib reads no body of a GET (nor a chunked one of DELETE): the
    body stayed on the connection and was parsed as the next request, so a
    request pipelined after it got a 400 ("abcdeGET ...")."""
    pipelined = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

    reply, _ = raw_exchange(server, head + b"\r\n\r\n" + body + pipelined)

    status, error = status_and_error(reply)
    assert status == 400 and "takes no body" in error["message"], reply[:300]
    assert b"Connection: close" in reply and reply.count(b"HTTP/1.1 ") == 1, reply


def exchange_until_closed(server, request: bytes, timeout: float = 10.0) -> bytes:
    """Sends `request` on a new connection and reads until the server closes
    it (an idle kept-alive connection closes after 2 s)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        return reply


def status_lines(reply: bytes) -> int:
    """How many responses `reply` holds."""
    return len(re.findall(rb"(?:^|\r\n)HTTP/1\.1 \d{3} ", reply))


SMUGGLED = b"GET /v1/models/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
PREDICT_CHUNKED = b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        # No CRLF after the chunk's data: cpp-httplib read "junk" as a last chunk.
        lambda body: PREDICT_CHUNKED + b"%x\r\n" % len(body) + body + b"junk\r\n" + SMUGGLED,
        # A chunk size cpp-httplib reads as hex where RFC 9112 §7.1 allows only HEXDIG.
        lambda body: PREDICT_CHUNKED + b"0x%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" + SMUGGLED,
        # Both Content-Length and Transfer-Encoding (RFC 9112 §6.3: close after it).
        lambda body: PREDICT_CHUNKED.replace(b"Host: x", b"Host: x\r\nContent-Length: 4") + chunked(body, 100)
        + SMUGGLED,
    ],
    ids=["no-crlf-after-data", "0x-chunk-size", "length-and-chunked"],
)
def test_bytes_after_a_chunked_body_are_never_run_as_a_request(server, request_bytes):
    """Request smuggling: a front-end proxy that frames the body by the RFC
    sends the rest on as part of it, and xaiserve ran it as a request of its
    own (404 for model 'SMUGGLED' in the access log). Now the connection
    ends with the chunked request's answer."""
    body = json.dumps({"instances": [TABULAR]}).encode()

    reply = exchange_until_closed(server, request_bytes(body))

    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply, reply[:300]
    assert status_lines(reply) == 1 and b"SMUGGLED" not in reply, reply
    assert "SMUGGLED" not in server.log()


@pytest.mark.parametrize("method,path", [("POST", "/v1/models/tabular:predict"), ("GET", "/v1/models")])
def test_a_body_left_unread_by_a_malformed_range_is_never_run_as_a_request(server, method, path):
    """cpp-httplib answers a malformed Range 416 before it reads the body; the
    connection stayed open and the body's bytes ran as the next request (a
    second answer on the connection: request smuggling behind a proxy). Now
    the connection ends with the 416."""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nRange: bytes=zz\r\nContent-Length: {len(SMUGGLED)}\r\n\r\n"

    reply = exchange_until_closed(server, head.encode() + SMUGGLED)

    assert reply.startswith(b"HTTP/1.1 416") and b"Connection: close" in reply, reply[:300]
    assert status_lines(reply) == 1 and b"SMUGGLED" not in reply, reply
    assert "SMUGGLED" not in server.log()


def test_two_transfer_encoding_lines_are_one_list(server):
    """"chunked" then "gzip" on two lines is "chunked, gzip" (RFC 9110 §5.3),
    a body whose end cannot be found: 400, as on one line."""
    body = json.dumps({"instances": [TABULAR]}).encode()
    head = PREDICT_CHUNKED.replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip")

    reply = exchange_until_closed(server, head + chunked(body, 100) + SMUGGLED)

    status, error = status_and_error(reply)
    assert status == 400 and "'chunked, gzip' is not supported" in error["message"], reply[:300]
    assert status_lines(reply) == 1, reply


@pytest.mark.parametrize(
    "head,phrase",
    [(b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nContent-Length : %d", "'Content-Length ' is not a token"),
     (b"GET /healthz HTTP/1.1", "needs a Host header"),
     (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b", "2 Host headers"),
     (b"GET /healthz HTTP/1.1\r\nHost: a b/c", "'a b/c' is not host[:port]")],
    ids=["space-before-colon", "no-host", "two-hosts", "bad-host"],
)
def test_header_fields_rfc_9112_refuses_get_400_and_a_close(server, head, phrase):
    """A space before the colon made cpp-httplib ignore "Content-Length ",
    so the body ran as the next request; a missing, doubled or malformed
    Host was served."""
    request = (head % len(SMUGGLED) if b"%d" in head else head) + b"\r\n\r\n" + SMUGGLED

    reply = exchange_until_closed(server, request)

    status, error = status_and_error(reply)
    assert status == 400 and phrase in error["message"], reply[:400]
    assert b"Connection: close" in reply and status_lines(reply) == 1, reply


def test_an_http_1_0_request_needs_no_host(server):
    reply = exchange_until_closed(server, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert b" 200 " in reply.split(b"\r\n")[0], reply[:300]


@pytest.mark.parametrize("connection", [b"Close", b"keep-alive, CLOSE", b"te, close"])
def test_close_in_any_case_or_list_closes_the_connection(server, connection):
    """RFC 9110 §7.6.1: Connection is a case-insensitive list; only "close"
    exactly was heeded, and the next request was served."""
    reply = exchange_until_closed(
        server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: " + connection + b"\r\n\r\n" + SMUGGLED)

    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply, reply[:300]
    assert status_lines(reply) == 1, reply


def test_headers_past_64_kib_get_a_431(server):
    """cpp-httplib keeps every header line: 200,000 headers of 1 KB took 640 MB."""
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 100) for i in range(1000))  # about 115 KB

    reply, _ = raw_exchange(server, b"GET /v1/models/tabular HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")

    status, error = status_and_error(reply)
    assert status == 431 and "64 KiB" in error["message"], reply[:300]
    assert b"Connection: close" in reply
    fewer = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 100) for i in range(300))  # about 34 KB
    ok, _ = raw_exchange(server, b"GET /v1/models/tabular HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fewer + b"\r\n")
    assert ok.startswith(b"HTTP/1.1 200"), ok[:300]


def test_one_header_line_of_8_kib_gets_a_431_naming_it(server):
    """cpp-httplib reads header lines of less than 8 KiB: a longer one (a
    large token or cookie) got 400 "malformed HTTP request"."""
    reply = exchange_until_closed(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Token: " + b"a" * 9000 + b"\r\n\r\n")

    status, error = status_and_error(reply)
    assert status == 431 and "a header line is 8 KiB or longer" in error["message"], reply[:300]


def test_a_request_line_past_64_kib_gets_a_414_and_a_log_line(server):
    """It was closed with no answer and nothing logged."""
    reply = exchange_until_closed(server, b"GET /healthz?" + b"a" * 66000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")

    status, error = status_and_error(reply)
    assert status == 414 and "URI is too long" in error["message"], reply[:300]
    log = server.log_once(lambda t: "status=414" in t)  # written by the log's own thread, a moment later
    assert "status=414" in log and "(request line past 64 KiB)" in log


def test_two_content_lengths_that_disagree_are_400(server):
    body = json.dumps({"instances": [TABULAR]}).encode()
    request = (b"POST /v1/models/tabular:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nContent-Length: 5\r\n\r\n"
               % len(body) + body)

    reply, _ = raw_exchange(server, request)

    status, error = status_and_error(reply)
    assert status == 400 and "two Content-Length headers" in error["message"], reply[:300]


def test_a_second_server_on_the_same_port_fails_to_listen(server, xaiserve):
    """cpp-httplib set SO_REUSEPORT: the second server listened too, and the
    kernel split the connections between the two."""
    import subprocess

    try:
        second = subprocess.run(
            [str(xaiserve.binary), "serve", "--model", f"tabular={fixture_dir('tabular_mlp')}", "--port", str(server.port)],
            capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as still_serving:
        pytest.fail(f"the second server is serving on port {server.port}: {still_serving.stderr}")

    assert second.returncode != 0
    assert "cannot listen" in second.stderr and "Address already in use" in second.stderr, second.stderr


def test_large_bodies_at_once_are_all_answered(xaiserve, tmp_path):
    """Large bodies take turns (src/http/body_memory_gate.h): eight at once
    against a gate that admits two are all answered, none left waiting. By
    hand (session 13), eight 16 MB bodies of nested lists at once peaked at
    5.4 GB RSS without the gate and 1.7 GB with it."""
    import concurrent.futures
    import http.client

    body = ('{"instances": [' + ",".join(["[[0]]"] * 400_000) + "]}").encode()  # 2.4 MB
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", "--max-body-bytes", "3000000",
                        log_dir=tmp_path) as server:
        def post(_):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            connection.request("POST", "/v1/models/tabular:predict", body, {"Content-Type": "application/json"})
            reply = connection.getresponse()
            return reply.status, reply.read()

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(post, range(8)))

    assert [status for status, _ in replies] == [413] * 8, replies[0]
    assert all(b"at most 64 per request" in text for _, text in replies)


def test_the_access_log_escapes_the_method_a_client_sends(server):
    """The path was escaped, the method not: an unauthenticated client could
    send terminal escapes and carriage returns into an operator's log."""
    reply, _ = raw_exchange(server, b"FOO\x1b]0;pwned\x07\r9999 /x HTTP/1.1\r\nHost: a\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 "), reply[:100]
    log = server.log_once(lambda text: "pwned" in text)  # written just after the response
    assert "\x1b" not in log and "\x07" not in log and "\r" not in log
    assert "FOO%1B]0;pwned%07%0D9999" in log


def test_running_out_of_memory_is_413_naming_memory_and_the_server_serves_on(xaiserve, tmp_path):
    """std::bad_alloc from a request too large for the memory left was
    answered 500 "unexpected failure ... (a bug in xaiserve): std::bad_alloc".
    Here the address space is capped (ulimit -v 3000000) so that 5,050 image
    path points in batches of 4,096 cannot fit."""
    import resource

    import conftest

    def little_memory():
        resource.setrlimit(resource.RLIMIT_AS, (3_072_000_000, 3_072_000_000))

    server = conftest.ServerProcess("--model", f"image={fixture_dir('shapes_cnn')}", log_dir=tmp_path,
                                    preexec=little_memory).start()
    try:
        image = read_instances("shapes_cnn")[0]
        reply = server.post("/v1/models/image:explain", {
            "instances": [image],
            "parameters": {"batchSize": 4096, "integratedGradientsAttribution": {
                "stepCount": 100, "smoothGradConfig": {"noisySampleCount": 50, "noiseSigma": 0.1}}}})
        reply.expect_error(413, "RESOURCE_EXHAUSTED",
                           ["ran out of memory", "smaller parameters.batchSize", "fewer instances"])
        assert "a bug in xaiserve" not in reply.raw.decode()
        # The worker's memory went with the request: the server serves on.
        assert server.get("/healthz").expect(200) == {"status": "ok"}
        assert server.get("/v1/models/image").expect(200)["name"] == "image"
        assert server.process.poll() is None
    finally:
        # (TensorFlow keeps much of what the large request took, so a graceful
        # stop, which starts a thread, may not fit in the capped address space.)
        server.process.kill()
        server.process.wait()
        server._log.close()
