"""`xaiserve serve` under load and through its life: many concurrent clients
get the same answers as single requests, a new version dropped into a model
directory is picked up while requests keep succeeding, and SIGTERM lets the
request in flight finish before the process exits 0."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ServerProcess, demo_model_flags, fixture_dir, read_instances, running_server

TABULAR = read_instances("tabular_mlp")
IMAGE = read_instances("shapes_cnn")
TEXT = read_instances("text_classifier")


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --------------------------------------------------------------------------
# Concurrent clients
# --------------------------------------------------------------------------

# (route, body): models and methods mixed.
WORK = [
    ("/v1/models/tabular:explain", {"instances": TABULAR[:2]}),
    ("/v1/models/tabular:explain", {"instances": TABULAR[2:], "parameters": {"sampledShapleyAttribution": {"pathCount": 4}}}),
    ("/v1/models/tabular:predict", {"instances": TABULAR}),
    ("/v1/models/image:explain", {"instances": IMAGE[:1], "parameters": {"integratedGradientsAttribution": {"stepCount": 20}}}),
    ("/v1/models/image:explain", {"instances": IMAGE[1:2], "parameters": {"xraiAttribution": {"stepCount": 8}}}),
    ("/v1/models/image:predict", {"instances": IMAGE}),
    ("/v1/models/text:explain", {"instances": TEXT}),
    ("/v1/models/text:explain", {"instances": TEXT[:2], "parameters": {"sampledShapleyAttribution": {"pathCount": 3}}}),
]


@pytest.fixture(scope="module")
def demo_server(xaiserve, tmp_path_factory):
    with running_server(
        *demo_model_flags(),
        log_dir=tmp_path_factory.mktemp("logs"),
    ) as running:
        yield running


def test_concurrent_clients_get_the_answers_of_single_requests(demo_server):
    expected = [demo_server.post(path, body).expect(200) for path, body in WORK]

    def client(worker: int) -> list[tuple[int, int, dict]]:
        results = []
        for i in range(10):
            k = (worker + i) % len(WORK)
            reply = demo_server.post(*WORK[k])
            results.append((k, reply.status, reply.json()))
        return results

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [r for results in pool.map(client, range(8)) for r in results]

    assert len(outcomes) == 80
    for k, status, body in outcomes:
        assert status == 200, body
        assert body == expected[k], f"{WORK[k][0]} answered differently under load"
    assert demo_server.get("/healthz").expect(200) == {"status": "ok"}


# --------------------------------------------------------------------------
# A new version on disk
# --------------------------------------------------------------------------


@contextlib.contextmanager
def asking_meanwhile(server: ServerProcess, path: str, body: dict, clients: int) -> Iterator[list[int]]:
    """`clients` threads POST `body` to `path` over and over while the block
    runs; yields the list their statuses are appended to."""
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            statuses.append(server.post(path, body).status)

    threads = [threading.Thread(target=keep_asking) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield statuses
    finally:
        stop.set()
        for t in threads:
            t.join(60)


def test_a_new_version_is_picked_up_without_failing_requests(xaiserve, tmp_path):
    base = tmp_path / "model"
    shutil.copytree(fixture_dir("tabular_mlp"), base / "1")
    body = {"instances": TABULAR[:1]}
    with running_server("--model", f"m={base}", "--poll-seconds", "0.2", log_dir=tmp_path) as server:
        first = server.post("/v1/models/m:explain", body).expect(200)

        with asking_meanwhile(server, "/v1/models/m:explain", body, clients=2) as statuses:
            # Version 2: the same model, explained from a different baseline.
            shutil.copytree(fixture_dir("tabular_mlp"), base / "2", ignore=shutil.ignore_patterns("explanation_metadata.json"))
            wait_until(
                lambda: server.get("/v1/models/m").expect(200).get("defaultVersion") == 2, 20, "version 2 to serve"
            )
            served = len(statuses)
            wait_until(lambda: len(statuses) > served + 2, 20, "requests on version 2")

        assert statuses and set(statuses) == {200}, f"requests failed during the swap: {statuses}"
        assert server.get("/v1/models/m").expect(200)["versions"][1]["version"] == 2
        second = server.post("/v1/models/m:explain", body).expect(200)
        old = server.post("/v1/models/m/versions/1:explain", body).expect(200)
        assert old == first  # version 1 still serves on request
        attribution = lambda r: r["explanations"][0]["attributions"][0]
        assert attribution(second)["baselineOutputValue"] != attribution(first)["baselineOutputValue"]
        assert second["predictions"] == first["predictions"]
        assert "model 'm' version 2 loaded" in server.log()


def test_deployed_model_id_picks_the_version_the_endpoint_lists(xaiserve, tmp_path):
    """Vertex's deployedModelId names which deployed model explains; the endpoint's resource lists
    the loaded versions as its deployedModels. It was ignored: the newest version explained."""
    base = tmp_path / "model"
    shutil.copytree(fixture_dir("tabular_mlp"), base / "1")
    # Version 2: the same model, explained from a zero baseline (no metadata).
    shutil.copytree(fixture_dir("tabular_mlp"), base / "2", ignore=shutil.ignore_patterns("explanation_metadata.json"))
    body = {"instances": TABULAR[:1]}
    endpoint = "/v1/projects/p/locations/l/endpoints/m"
    with running_server("--model", f"m={base}", "--poll-seconds", "0", log_dir=tmp_path) as server:
        assert [d["id"] for d in server.get(endpoint).expect(200)["deployedModels"]] == ["1", "2"]
        version_one = server.post("/v1/models/m/versions/1:explain", body).expect(200)
        newest = server.post("/v1/models/m:explain", body).expect(200)
        assert version_one != newest

        assert server.post(endpoint + ":explain", {**body, "deployedModelId": "1"}).expect(200) == version_one
        assert server.post(endpoint + ":explain", {**body, "deployedModelId": ""}).expect(200) == newest
        assert server.post("/v1/models/m/versions/1:explain", {**body, "deployedModelId": "1"}).expect(200) == version_one
        server.post("/v1/models/m/versions/1:explain", {**body, "deployedModelId": "2"}).expect_error(
            400, "INVALID_ARGUMENT", ["deployedModelId '2' names version 2, and the path version 1"])
        server.post(endpoint + ":explain", {**body, "deployedModelId": "3"}).expect_error(404, phrases=["3"])
        server.post(endpoint + ":explain", {**body, "deployedModelId": "v1"}).expect_error(
            404, phrases=["deployedModelId", "has no version 'v1'"])
        server.post(endpoint + ":explain", {**body, "deployedModelId": 1}).expect_error(
            400, "INVALID_ARGUMENT", ["deployedModelId must be a string"])


def test_keep_versions_unloads_the_old_version_once_the_new_one_serves(xaiserve, tmp_path):
    """--keep-versions 1 (TF Serving's default policy): version 1 serves until
    version 2 has loaded, then is unloaded; no request fails on the way."""
    base = tmp_path / "model"
    shutil.copytree(fixture_dir("tabular_mlp"), base / "1")
    body = {"instances": TABULAR[:1]}
    with running_server("--model", f"m={base}", "--poll-seconds", "0.2", "--keep-versions", "1",
                        log_dir=tmp_path) as server:
        assert server.get("/v1/models/m").expect(200)["versionPolicy"] == "latest 1"
        first = server.post("/v1/models/m:explain", body).expect(200)
        with asking_meanwhile(server, "/v1/models/m:explain", body, clients=1) as statuses:
            shutil.copytree(fixture_dir("tabular_mlp"), base / "2", ignore=shutil.ignore_patterns("explanation_metadata.json"))
            wait_until(lambda: [v["version"] for v in server.get("/v1/models/m").expect(200)["versions"]] == [2], 20,
                       "version 2 to replace version 1")

        assert statuses and set(statuses) == {200}, f"requests failed during the swap: {statuses}"
        server.post("/v1/models/m/versions/1:explain", body).expect_error(404, phrases=["loaded versions: 2"])
        second = server.post("/v1/models/m:explain", body).expect(200)
        assert second["predictions"] == first["predictions"]
        assert "model 'm' version 1 unloaded: its version policy (latest 1) no longer wants it" in server.log()


BATCHING_COUNTERS = ("xaiserve_path_runs_total", "xaiserve_path_runs_merged_total", "xaiserve_path_batches_merged_total")


def batching_counters(server, model: str) -> dict[str, int]:
    text = server.get("/metrics").raw.decode()
    found = {name: re.search(rf'^{name}{{model="{model}"}} (\d+)$', text, re.M) for name in BATCHING_COUNTERS}
    return {name: int(match.group(1)) if match else -1 for name, match in found.items()}


def test_batching_counters_never_go_back_when_a_version_is_unloaded(xaiserve, tmp_path):
    """The path_runs counters of --cross-request-batching were summed over the
    versions loaded when /metrics was read: unloading version 1 took its runs
    with it, and the counters fell back to 0 (Prometheus reads a counter that
    goes back as a restart)."""
    base = tmp_path / "model"
    shutil.copytree(fixture_dir("tabular_mlp"), base / "1")
    body = {"instances": TABULAR[:2]}
    with running_server("--model", f"m={base}", "--cross-request-batching", "--keep-versions", "1",
                        "--poll-seconds", "0.5", log_dir=tmp_path) as server:
        for _ in range(3):
            server.post("/v1/models/m:explain", body).expect(200)
        before = batching_counters(server, "m")
        assert before["xaiserve_path_runs_total"] > 0, before

        shutil.copytree(fixture_dir("tabular_mlp"), base / "2")
        server.log_once(lambda log: "model 'm' version 1 unloaded" in log, timeout=30)
        assert "model 'm' version 1 unloaded" in server.log()
        after_swap = batching_counters(server, "m")
        server.post("/v1/models/m:explain", body).expect(200)
        after_more = batching_counters(server, "m")

    for name in BATCHING_COUNTERS:
        assert before[name] <= after_swap[name] <= after_more[name], (name, before, after_swap, after_more)
    assert after_more["xaiserve_path_runs_total"] > before["xaiserve_path_runs_total"], (before, after_more)


@contextlib.contextmanager
def readable_by_nobody() -> Iterator[tuple[Path, tuple[str, ...]]]:
    """A directory and a command prefix under which file permissions apply to
    the server: as root (whom permissions do not stop), the server runs as
    nobody via setpriv; otherwise as the test's own user."""
    if os.geteuid() != 0:
        prefix: tuple[str, ...] = ()
    elif shutil.which("setpriv"):
        prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    else:
        pytest.skip("running as root without setpriv: permissions would not apply to the server")
    directory = Path(tempfile.mkdtemp(prefix="xai_permissions_"))
    directory.chmod(0o755)
    try:
        yield directory, prefix
    finally:
        for path in [directory, *directory.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(directory)


def copy_readable(source: Path, target: Path) -> None:
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_model_directory_that_cannot_be_read_for_a_while_keeps_serving(xaiserve, tmp_path):
    """A read error is not a removal: with the base directory unreadable
    (chmod 000; on network storage, an I/O error), every version used to be
    unloaded as gone and the model answered 503 (43% of a helper's requests)."""
    body = {"instances": TABULAR[:1]}
    with readable_by_nobody() as (directory, prefix):
        base = directory / "model"
        copy_readable(fixture_dir("tabular_mlp"), base / "1")
        base.chmod(0o755)
        with running_server("--model", f"m={base}", "--poll-seconds", "0.1", log_dir=tmp_path,
                            command_prefix=prefix) as server:
            first = server.post("/v1/models/m:predict", body).expect(200)
            with asking_meanwhile(server, "/v1/models/m:predict", body, clients=1) as statuses:
                base.chmod(0o000)
                wait_until(lambda: "cannot read model directory" in server.log(), 20, "the read error to be seen")
                asked = len(statuses)
                wait_until(lambda: len(statuses) > asked + 5, 20, "requests while it cannot be read")
                status = server.get("/v1/models/m").expect(200)
                base.chmod(0o755)
            assert statuses and set(statuses) == {200}, f"requests failed while unreadable: {sorted(set(statuses))}"
            assert [v["version"] for v in status["versions"]] == [1]
            assert "go on serving until it can be read again" in status["error"]["message"]
            assert "Permission denied" in status["error"]["message"]
            wait_until(lambda: "error" not in server.get("/v1/models/m").expect(200), 20, "the error to clear")
            assert server.post("/v1/models/m:predict", body).expect(200) == first
            assert "unloaded" not in server.log()


def test_a_version_whose_variables_cannot_be_read_says_so(xaiserve, tmp_path):
    """TensorFlow says "not found" for a file it may not read; the message
    said to copy variables/ that were there."""
    with readable_by_nobody() as (directory, prefix):
        base = directory / "model"
        copy_readable(fixture_dir("tabular_mlp"), base / "1")
        (base / "1" / "variables").chmod(0o000)
        with running_server("--model", f"m={base}", log_dir=tmp_path, command_prefix=prefix) as server:
            [error] = server.get("/v1/models/m").expect(200)["loadErrors"]
        message = error["error"]["message"]
        assert "cannot read" in message and "variables.index" in message and "Permission denied" in message, message
        assert "readable by the user xaiserve runs as" in message
        assert "copy the whole SavedModel" not in message


def test_a_config_s_specific_version_policy_serves_the_listed_versions(xaiserve, tmp_path):
    base = tmp_path / "model"
    for version in ("1", "2", "3"):
        (base / version).parent.mkdir(parents=True, exist_ok=True)
        (base / version).symlink_to(fixture_dir("tabular_mlp"), target_is_directory=True)
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [
        {"name": "m", "base_path": str(base), "model_version_policy": {"specific": {"versions": ["1", 2]}}},
        {"name": "none", "base_path": str(base), "model_version_policy": {"specific": {"versions": [7]}}}]}))
    with running_server("--config", config, log_dir=tmp_path) as server:
        status = server.get("/v1/models/m").expect(200)
        assert [v["version"] for v in status["versions"]] == [1, 2]
        assert status["versionPolicy"] == "specific 1, 2"
        server.post("/v1/models/none:explain", {"instances": TABULAR[:1]}).expect_error(
            503, phrases=["holds versions 1, 2, 3, none of which its version policy (specific 7) wants"])


def test_a_config_in_tf_serving_s_form_serves(xaiserve, tmp_path):
    """ModelServerConfig as JSON (model_config_list.config, model_platform),
    as a TF Serving models.config converts: the same models, the same policy."""
    base = tmp_path / "model"
    for version in ("1", "2"):
        (base / version).parent.mkdir(parents=True, exist_ok=True)
        (base / version).symlink_to(fixture_dir("tabular_mlp"), target_is_directory=True)
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"model_config_list": {"config": [
        {"name": "m", "base_path": str(base), "model_platform": "tensorflow",
         "model_version_policy": {"latest": {"num_versions": 1}}}]}}))
    with running_server("--config", config, log_dir=tmp_path) as server:
        status = server.get("/v1/models/m").expect(200)
        assert [v["version"] for v in status["versions"]] == [2]
        assert status["versionPolicy"] == "latest 1"
        server.post("/v1/models/m:predict", {"instances": TABULAR[:1]}).expect(200)


def test_a_bad_version_policy_in_a_config_is_refused_at_start(xaiserve, tmp_path):
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [
        {"name": "m", "base_path": str(fixture_dir("tabular_mlp")), "model_version_policy": {"latest": {"num": 2}}}]}))
    result = xaiserve.run("serve", "--config", config, "--port", "0")
    result.expect_failure(phrases=["model_version_policy.latest", "'num'", "num_versions"])


def test_a_second_directory_of_a_serving_version_is_reported_not_served(xaiserve, tmp_path):
    """'01' beside a serving '1' (a stray copy): version 1 goes on from '1',
    and the model's status says what is wrong."""
    base = tmp_path / "model"
    shutil.copytree(fixture_dir("tabular_mlp"), base / "1")
    body = {"instances": TABULAR[:1]}
    with running_server("--model", f"m={base}", "--poll-seconds", "0.2", log_dir=tmp_path) as server:
        first = server.post("/v1/models/m:explain", body).expect(200)
        shutil.copytree(fixture_dir("tabular_mlp"), base / "01", ignore=shutil.ignore_patterns("explanation_metadata.json"))

        status = wait_until(lambda: server.get("/v1/models/m").expect(200).get("error") and
                            server.get("/v1/models/m").expect(200), 20, "the clash to be reported")

        assert "two directories for version 1" in status["error"]["message"]
        assert [v["path"] for v in status["versions"]] == [str(base / "1")]
        assert server.post("/v1/models/m:explain", body).expect(200) == first


# --------------------------------------------------------------------------
# SIGTERM
# --------------------------------------------------------------------------


def in_flight(server: ServerProcess) -> int:
    text = server.get("/metrics").raw.decode()
    return int(re.search(r"^xaiserve_requests_in_flight (\d+)$", text, re.M).group(1))


def explain_through_a_stop(server: ServerProcess, stop, body: dict) -> tuple[int, "Reply"]:
    """Sends `body` to :explain, calls stop() once it is in flight, and
    returns the server's exit code and the request's reply."""
    try:
        replies = []
        request = threading.Thread(target=lambda: replies.append(server.post("/v1/models/image:explain", body)))
        request.start()
        wait_until(lambda: in_flight(server) >= 2, 30, "the request to be in flight", interval=0.01)
        stop()
        code = server.stop(timeout=120)
        request.join(120)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    [reply] = replies
    return code, reply


SLOW = {"instances": (IMAGE * 16)[:64], "parameters": {"integratedGradientsAttribution": {"stepCount": 100}}}


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])  # SIGHUP (a closed terminal) used to kill at once
def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(signal_name, xaiserve, tmp_path):
    import signal

    server = ServerProcess("--model", f"image={fixture_dir('shapes_cnn')}", log_dir=tmp_path).start()
    code, reply = explain_through_a_stop(server, lambda: server.process.send_signal(getattr(signal, signal_name)), SLOW)

    assert code == 0, server.log()[-3000:]
    assert len(reply.expect(200)["explanations"]) == 64
    # It used to say keep-alive, and a request sent after it found the connection closed.
    assert {k.lower(): v for k, v in reply.headers.items()}.get("connection") == "close", reply.headers
    log = server.log()
    assert "received: no new connections; finishing the requests in flight" in log
    assert "xaiserve: stopped" in log
    assert log.index("received: no new connections") < log.index("model=image method=explain:integrated-gradients status=200")


def test_a_request_waiting_for_a_worker_at_a_stop_is_still_answered(xaiserve, tmp_path):
    """With every worker busy, a request that had arrived and waited for one
    was closed unanswered by a stop ("empty reply from server"), and was not
    logged. The one worker is held by a long explanation that is sure to run
    for seconds beyond the small request's arrival."""
    import signal

    server = ServerProcess("--model", f"image={fixture_dir('shapes_cnn')}", "--threads", "1", log_dir=tmp_path).start()
    replies: dict[str, "Reply"] = {}
    try:
        slower = {**SLOW, "parameters": {"integratedGradientsAttribution": {
            "stepCount": 100, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 3}}}}  # about 6 s
        slow = threading.Thread(target=lambda: replies.update(slow=server.post("/v1/models/image:explain", slower)))
        slow.start()
        time.sleep(1.0)  # the slow request holds the worker (it takes many seconds)
        waiting = threading.Thread(target=lambda: replies.update(
            waiting=server.post("/v1/models/image:explain", {"instances": IMAGE[:1]})))
        waiting.start()
        time.sleep(0.5)  # its bytes have arrived; it waits for the worker
        server.process.send_signal(signal.SIGTERM)
        code = server.stop(timeout=120)
        slow.join(120)
        waiting.join(120)
    finally:
        if server.process.poll() is None:
            server.process.kill()

    assert code == 0, server.log()[-3000:]
    assert len(replies["slow"].expect(200)["explanations"]) == 64
    assert "waiting" in replies, "the request that waited for the worker got no answer"
    assert len(replies["waiting"].expect(200)["explanations"]) == 1
    assert server.log().count("model=image method=explain:integrated-gradients status=200") == 2


def test_a_signal_sent_twice_at_once_is_one_request_to_stop(xaiserve, tmp_path):
    """GNU timeout sends SIGTERM twice at once (to the child and to its
    process group); the second one made the server exit at once, dropping
    the request in flight."""
    import signal

    def twice():
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # not so close that the kernel merges the two into one
        server.process.send_signal(signal.SIGTERM)

    server = ServerProcess("--model", f"image={fixture_dir('shapes_cnn')}", log_dir=tmp_path).start()
    code, reply = explain_through_a_stop(server, twice, SLOW)

    assert code == 0, server.log()[-3000:]
    assert len(reply.expect(200)["explanations"]) == 64
    assert "again within a second: taken as the same request to stop" in server.log()


def test_explanations_still_running_after_the_shutdown_timeout_stop_with_503(xaiserve, tmp_path):
    """A stop signal let requests in flight run to their end, however long:
    a container runtime kills the server first (docker stop waits 10 s).
    After --shutdown-timeout they stop at their next model run."""
    server = ServerProcess("--model", f"image={fixture_dir('shapes_cnn')}", "--shutdown-timeout", "1",
                           log_dir=tmp_path).start()
    long = {"instances": IMAGE[:1], "parameters": {
        "topK": -1, "batchSize": 1,
        "integratedGradientsAttribution": {"stepCount": 100,
                                           "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 50}}}}
    stopped_at = []
    code, reply = explain_through_a_stop(server, lambda: (time.sleep(0.5), stopped_at.append(time.monotonic())), long)
    stopping = time.monotonic() - stopped_at[0]

    assert code == 0, server.log()[-3000:]
    reply.expect_error(503, "UNAVAILABLE", ["--shutdown-timeout", "send it again"])
    assert stopping < 10, f"the server took {stopping:.1f} s to stop"
    assert "--shutdown-timeout (1 s) is over" in server.log()
    [entry] = [l for l in server.log().splitlines() if "image:explain" in l and "status=503" in l]
    assert "path_points=" in entry, entry  # the rows it evaluated before it stopped


def test_sighup_is_left_ignored_under_nohup(xaiserve, tmp_path):
    """A server started with SIGHUP ignored (nohup, trap '' HUP) keeps it
    ignored: closing the terminal must not stop it."""
    import signal
    import subprocess

    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(xaiserve.binary), "serve", "--model", f"tabular={fixture_dir('tabular_mlp')}", "--port", "0"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        wait_until(lambda: "listening" in (tmp_path / "serve.log").read_text() or process.poll() is not None, 60,
                   "the server to listen")
        process.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


# --------------------------------------------------------------------------
# Memory after a burst
# --------------------------------------------------------------------------


def resident_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_burst_s_memory_goes_back_to_the_system_once_the_server_is_quiet(xaiserve, tmp_path):
    """Bodies of instances made of many tiny lists parse to hundreds of MB
    each before the model refuses their shape; the allocator kept those
    pages, so the server stayed at its peak while idle (5.3 GB after a
    MobileNetV2 burst). Once quiet for a whole check interval, it returns them."""
    instance = b"[" + b",".join([b"[0]"] * 40_000) + b"]"
    body = b'{"instances": [' + b",".join([instance] * 60) + b"]}"
    with running_server("--model", f"m={fixture_dir('tabular_mlp')}", log_dir=tmp_path) as server:
        def refused(_):
            return server.post("/v1/models/m:predict", body).status
        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(refused, range(4))) == {400}
        peak = resident_bytes(server.process.pid)
        line = wait_until(lambda: re.search(r"idle: returned (\d+) MB of freed memory", server.log()), 30,
                          "the memory to be returned")
        assert int(line.group(1)) >= 100
        assert resident_bytes(server.process.pid) < peak - (100 << 20)


def test_while_models_load_healthz_answers_and_readyz_says_503(xaiserve, tmp_path):
    """Models loaded before the server served: a liveness probe got no
    answer for as long as loading took (and Kubernetes restarted the pod)."""
    import signal
    import socket
    import subprocess
    import urllib.error
    import urllib.request

    base = tmp_path / "model"
    base.mkdir()
    for version in range(1, 13):  # twelve versions of a CNN: loading takes seconds
        (base / str(version)).symlink_to(fixture_dir("shapes_cnn"), target_is_directory=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([str(xaiserve.binary), "serve", "--port", str(port), "--model", f"m={base}"],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})

    def get(path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        wait_until(lambda: _answers(get), 20, "the server to answer")
        healthz, readyz = get("/healthz"), get("/readyz")
        loading = "listening on" not in (tmp_path / "server.log").read_text()
        # The version being loaded shows as TF Serving shows it (it was invisible).
        status = wait_until(lambda: (lambda s: s if s.get("loadingVersion") else None)(get("/v1/models/m")[1]), 60,
                            "a version shown as loading")
        # A version loaded while later ones load with it: it was a 404 "no
        # loaded version 1; loaded versions: none" and missing from the status.
        waiting = wait_until(lambda: _version_one_while_others_load(get), 60, "version 3 or later loading")
        wait_until(lambda: get("/readyz")[0] == 200, 120, "the models to load")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()

    assert loading, "the models had loaded before the first probe: make loading slower"
    assert healthz == (200, {"status": "ok"})
    assert readyz[0] == 503 and "not ready: model 'm' has no loaded version: its versions are still loading" in \
        readyz[1]["error"]["message"], readyz
    assert status["model_version_status"][0] == {"version": str(status["loadingVersion"]), "state": "LOADING",
                                                 "status": {"error_code": "OK", "error_message": ""}}, status
    version_one, later_status = waiting
    assert version_one[0] == 503 and "version 1 has loaded and serves once version" in \
        version_one[1]["error"]["message"], version_one
    listed = [(entry["version"], entry["state"]) for entry in later_status["model_version_status"]]
    loading_now = later_status["loadingVersion"]
    assert listed == [(str(v), "LOADING") for v in range(loading_now, 0, -1)], later_status
    assert process.returncode == 0


def _version_one_while_others_load(get):
    """GET /v1/models/m/versions/1 while version 3 or later is loading, and
    the model's status after it, if loading went on meanwhile (versions load
    in order, so it was loading then too); else None."""
    before = get("/v1/models/m")[1]
    if before.get("loadingVersion", 0) < 3:
        return None
    version_one = get("/v1/models/m/versions/1")
    after = get("/v1/models/m")[1]
    return (version_one, after) if after.get("loadingVersion") else None


def _answers(get) -> bool:
    try:
        return get("/healthz")[0] == 200
    except OSError:
        return False


def test_the_probe_port_answers_while_every_worker_is_busy(xaiserve, tmp_path):
    """On the API's port a probe waits for a worker like any request: with
    the one worker held by a long explanation, /healthz there does not
    answer (an orchestrator would restart a server that is only busy). The
    --probe-port has threads of its own."""
    import http.client
    import socket

    with running_server("--model", f"image={fixture_dir('shapes_cnn')}", "--threads", "1", "--probe-port", "0",
                        log_dir=tmp_path) as server:
        [probe_port] = [int(m.group(1)) for line in server.stdout_lines
                        if (m := re.search(r"probes \(/healthz, /readyz, /metrics\) also on port (\d+)", line))]
        assert probe_port not in (0, server.port)

        def probe(path: str, method: str = "GET") -> tuple[int, str]:
            connection = http.client.HTTPConnection("127.0.0.1", probe_port, timeout=5)
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.read().decode()

        slower = {**SLOW, "parameters": {"integratedGradientsAttribution": {
            "stepCount": 100, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 3}}}}  # about 6 s
        replies = {}
        slow = threading.Thread(target=lambda: replies.update(slow=server.post("/v1/models/image:explain", slower)))
        slow.start()
        wait_until(lambda: "xaiserve_requests_in_flight 1" in probe("/metrics")[1], 10, "the explanation to start")

        started = time.monotonic()
        assert probe("/healthz") == (200, '{"status":"ok"}')
        assert probe("/readyz") == (200, '{"status":"ready"}')
        assert time.monotonic() - started < 2.0
        assert "slow" not in replies, "the explanation ended before the probes: they proved nothing"
        api = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
        api.request("GET", "/healthz")
        with pytest.raises(socket.timeout):  # the API's port: its one worker is busy
            api.getresponse()
        api.close()
        status, body = probe("/v1/models")
        assert status == 404 and "only" in json.loads(body)["error"]["message"]
        assert probe("/healthz", "OPTIONS")[0] == 405

        # Stopping: the API's port takes no new connections, so readiness fails
        # at once, while the explanation in flight finishes.
        import signal
        server.process.send_signal(signal.SIGTERM)
        wait_until(lambda: probe("/readyz")[0] == 503, 10, "/readyz to say the server is stopping")
        assert "stopping" in probe("/readyz")[1]
        assert probe("/healthz")[0] == 200
        slow.join(120)
        assert len(replies["slow"].expect(200)["explanations"]) == 64
        assert server.process.wait(60) == 0
    # The probe port's requests are not in the access log (a probe every few
    # seconds would drown it); /metrics was asked there only.
    assert "/metrics" not in server.log()


def test_the_wait_for_a_worker_is_in_the_logged_latency(tmp_path):
    """With the one worker held by a long explanation, a light request waits
    for it; that wait was left out of latency_ms and the histogram (they ran
    from when a worker started reading the request), so the log said a few
    milliseconds for a request its client waited seconds for."""
    with running_server("--model", f"image={fixture_dir('shapes_cnn')}", "--threads", "1",
                        log_dir=tmp_path) as server:
        replies = {}
        slower = {**SLOW, "parameters": {"integratedGradientsAttribution": {
            "stepCount": 100, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 3}}}}  # about 6 s
        slow = threading.Thread(target=lambda: replies.update(slow=server.post("/v1/models/image:explain", slower)))
        slow.start()
        time.sleep(0.5)  # the explanation takes the worker
        started = time.monotonic()
        server.request("GET", "/v1/models/image").expect(200)
        waited = time.monotonic() - started
        slow.join(120)
        replies["slow"].expect(200)
        assert waited > 0.5, f"the light request did not wait for the worker ({waited:.2f} s): no test"
        line = next(line for line in server.log().splitlines() if "method=get_model status=200" in line)
        latency = float(re.search(r"latency_ms=([0-9.]+)", line).group(1)) / 1000
        assert latency >= 0.8 * waited, (line, waited)
        queued = re.search(r"queued_ms=([0-9.]+)", line)
        assert queued is not None and 0.8 * waited - 0.1 <= float(queued.group(1)) / 1000 <= latency, (line, waited)
        # The histogram has it too: the request counts in a bucket above 0.5 s only.
        metrics = server.metrics_once(lambda text: 'method="get_model"' in text)
        below = re.search(r'xaiserve_request_duration_seconds_bucket\{model="image",method="get_model",le="0.5"\} (\d+)',
                          metrics)
        assert below is not None and int(below.group(1)) == 0, metrics[:2000]


def test_slow_clients_cannot_keep_the_probe_port_s_threads(xaiserve, tmp_path):
    """Its two threads were plain cpp-httplib's: two clients sending a byte
    every few seconds held them, and probes timed out for as long as they
    kept it up. Now a client has a second for its request there."""
    import socket

    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", "--probe-port", "0",
                        log_dir=tmp_path) as server:
        [probe_port] = [int(m.group(1)) for l in server.stdout_lines if (m := re.search(r"also on port (\d+)", l))]
        stop = threading.Event()

        def trickle():
            with socket.create_connection(("127.0.0.1", probe_port)) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                with contextlib.suppress(OSError):
                    while not stop.wait(0.3):
                        s.sendall(b"a")

        slow = [threading.Thread(target=trickle, daemon=True) for _ in range(4)]
        for t in slow:
            t.start()
        try:
            time.sleep(0.5)
            probe = copy.copy(server)
            probe.port = probe_port
            for _ in range(3):
                assert probe.get("/healthz", timeout=8).expect(200) == {"status": "ok"}
        finally:
            stop.set()
            for t in slow:
                t.join(10)


# accept() and accept4() as libc has them, except that the connection of call
# number $XAI_FAIL_ACCEPT_AT is dropped and the call fails with ENOBUFS (as
# when the kernel runs out of buffers, a failure cpp-httplib does not retry).
FAILING_ACCEPT_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int accepted;

static int fail_this_one(int fd) {
  const char* at = getenv("XAI_FAIL_ACCEPT_AT");
  if (fd < 0 || at == NULL || atomic_fetch_add(&accepted, 1) + 1 != atoi(at)) return 0;
  close(fd);
  errno = ENOBUFS;
  return 1;
}

int accept(int sock, struct sockaddr* address, socklen_t* length) {
  int (*real)(int, struct sockaddr*, socklen_t*) = dlsym(RTLD_NEXT, "accept");
  const int fd = real(sock, address, length);
  return fail_this_one(fd) ? -1 : fd;
}

int accept4(int sock, struct sockaddr* address, socklen_t* length, int flags) {
  int (*real)(int, struct sockaddr*, socklen_t*, int) = dlsym(RTLD_NEXT, "accept4");
  const int fd = real(sock, address, length, flags);
  return fail_this_one(fd) ? -1 : fd;
}
"""


def failing_accept_shim(tmp_path):
    """FAILING_ACCEPT_SHIM built as a shared library for LD_PRELOAD (the test is
    skipped where there is no C compiler)."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler to build the failing-accept() shim with")
    source, shim = tmp_path / "failing_accept.c", tmp_path / "failing_accept.so"
    source.write_text(FAILING_ACCEPT_SHIM)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(shim), str(source), "-ldl"], check=True)
    return shim


def test_a_failing_accept_ends_serve_with_an_error_naming_it(xaiserve, tmp_path):
    """cpp-httplib's accept loop gives up on an accept() error other than
    EMFILE or EINTR (ENFILE, ENOBUFS, ENOMEM, EPERM) and closes the listening
    socket: the server used to drain, say "stopped" and exit 0, so a
    supervisor saw a clean exit and nobody learned why it stopped serving."""
    shim = failing_accept_shim(tmp_path)

    server = ServerProcess("--model", f"m={fixture_dir('quadratic')}", log_dir=tmp_path,
                           command_prefix=("env", f"LD_PRELOAD={shim}", "XAI_FAIL_ACCEPT_AT=3")).start()
    try:
        for _ in range(20):  # the third connection's accept() fails; later ones find no listener
            if server.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                server.get("/healthz", timeout=5)
            time.sleep(0.1)
        code = server.process.wait(30)
    finally:
        server.stop()

    log = server.log()
    assert code == 1, f"exit code {code}\n{log[-3000:]}"
    assert "xaiserve serve: error: " in log and "accept() failed" in log and "No buffer space available" in log, log[-3000:]
    assert "xaiserve: stopped" not in log
    assert "Segmentation fault" not in log and "terminate called" not in log


def test_a_failing_accept_on_the_probe_port_ends_serve_with_an_error_naming_it(xaiserve, tmp_path):
    """The probe port's accept loop gives up as the API's does: it used to
    refuse every probe from then on, log nothing, and the server served on
    and exited 0 on SIGTERM, so an orchestrator restarted it for failed
    probes with nobody told why. Now serve ends, exit 1, naming both."""
    shim = failing_accept_shim(tmp_path)

    # Only the probe port is connected to: its second accept() fails.
    server = ServerProcess("--model", f"m={fixture_dir('quadratic')}", "--probe-port", "0", log_dir=tmp_path,
                           command_prefix=("env", f"LD_PRELOAD={shim}", "XAI_FAIL_ACCEPT_AT=2")).start()
    try:
        [probe_port] = [int(m.group(1)) for l in server.stdout_lines if (m := re.search(r"also on port (\d+)", l))]
        probe = copy.copy(server)
        probe.port = probe_port
        assert probe.get("/healthz", timeout=5).expect(200) == {"status": "ok"}
        for _ in range(20):
            if server.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                probe.get("/healthz", timeout=5)
            time.sleep(0.1)
        try:
            code = server.process.wait(15)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        server.stop()

    log = server.log()
    assert code == 1, f"exit code {code}\n{log[-3000:]}"
    error = log[log.find("xaiserve serve: error: "):]
    assert f"the probe port {probe_port} stopped accepting connections: accept() failed (No buffer space available)" \
        in error, log[-3000:]
    assert "xaiserve: stopped" not in log
    assert "Segmentation fault" not in log and "terminate called" not in log


def test_worker_threads_the_system_refuses_end_serve_with_an_error_naming_the_limit(xaiserve, tmp_path):
    """std::thread's exception when the user is at its limit of processes
    (ulimit -u) escaped cpp-httplib's listen: "terminate called after throwing
    an instance of 'std::system_error'", exit 134 and a core dump.

    The model directory is empty (no version yet), so that no model loads:
    TensorFlow makes its thread pools while a model loads, beside the worker
    pool's start, and aborts when the system refuses it a thread (README,
    Known limitations); with a model, which of the two met the limit first
    was a race (the fresh-clone CI lost it once)."""
    import resource

    waiting_model = Path(tempfile.mkdtemp(prefix="xai-nobody-empty-"))
    waiting_model.chmod(0o755)

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv, to run the server as nobody under a limit of processes")

    def few_processes():
        # Counted per user (root is exempt, so the server runs as nobody):
        # enough for the server's own threads and TensorFlow's, not for 200 workers.
        resource.setrlimit(resource.RLIMIT_NPROC, (60, 60))

    server = ServerProcess("--model", f"m={waiting_model}", "--threads", "200", log_dir=tmp_path,
                           command_prefix=("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"),
                           preexec=few_processes)
    try:
        with contextlib.suppress(AssertionError):  # it prints its URL, or exits first
            server.start()
        code = server.process.wait(30)
    finally:
        waiting_model.rmdir()

    log = server.log()
    assert code == 1, f"exit code {code}\n{log[-3000:]}"
    assert "terminate called" not in log, log[-3000:]
    assert "xaiserve serve: error: cannot start 200 HTTP worker threads (--threads 200): Resource temporarily " \
        "unavailable" in log, log[-3000:]
    assert "ulimit -u" in log and "lower --threads" in log, log[-3000:]


@pytest.mark.parametrize("hard", [4096, 1024])
def test_serve_raises_its_open_file_limit_to_the_hard_limit(xaiserve, tmp_path, hard):
    """A soft limit of open files below the hard one (1024, for select()'s
    sake, is common) was kept: past it, new clients waited unanswered while
    cpp-httplib's accept loop retried without a word."""
    import resource

    def low_soft_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    with running_server("--model", f"m={fixture_dir('quadratic')}", log_dir=tmp_path, preexec=low_soft_limit) as server:
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        [line] = [l for l in limits.splitlines() if l.startswith("Max open files")]
        assert line.split()[3:5] == [str(hard), str(hard)], line
        log = server.log_once(lambda text: "may open only" in text, timeout=2 if hard < 4096 else 0.5)

    if hard < 4096:  # raised, but still low: said once
        assert log.count(f"may open only {hard} files (ulimit -n; its hard limit is {hard})") == 1, log[-3000:]
    else:
        assert "may open only" not in log, log[-3000:]


@contextlib.contextmanager
def serve_with_stderr(stderr: int, *flags: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """`xaiserve serve --port 0 --model tab=... FLAGS` with stderr the file
    descriptor given (a pipe, as a test wants it): the process, once it
    listens, and its port; killed at the end of the block if still running."""
    from conftest import BINARY

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([str(BINARY), "serve", "--port", "0", "--model", f"tab={fixture_dir('tabular_mlp')}",
                                *flags], stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    try:
        port = next((int(m.group(1)) for line in process.stdout
                     if (m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", line))), None)
        assert port is not None, "the server did not start"
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def get_healthz(port: int, times: int) -> None:
    """GET /healthz `times` times over one connection, each answered ok
    (each is a line of the access log: about 90 bytes)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for i in range(times):
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b'{"status":"ok"}', i
    connection.close()


def test_a_stderr_nobody_reads_does_not_stop_the_server(tmp_path):
    """stderr is a pipe whose reader stopped reading (a stalled log driver,
    `serve 2>&1 | less`): once its 64 KiB were full, the worker writing the
    access log blocked, then every worker and the signal thread behind it:
    the API answered nothing while the probe port said ready, and SIGTERM
    did nothing. The log now has a thread of its own."""
    import signal

    read_end, write_end = os.pipe()  # read_end is never read
    try:
        with serve_with_stderr(write_end) as (process, port):
            os.close(write_end)
            get_healthz(port, 1500)  # about 130 KB of access log, twice what the pipe holds
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
            assert time.monotonic() - started < 10
    finally:
        os.set_blocking(read_end, False)
        logged = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(read_end, 1 << 16):
                logged += chunk
        os.close(read_end)
    assert b"GET /healthz model=- method=healthz status=200" in logged


def fill_pipe(write_end: int) -> None:
    """Writes dots into the pipe of `write_end` until it is full, through a
    non-blocking description of its own: O_NONBLOCK set on `write_end` would
    be set on a server's stderr too."""
    filler = os.open(f"/proc/self/fd/{write_end}", os.O_WRONLY | os.O_NONBLOCK)
    try:
        for size in (4096, 1):
            with contextlib.suppress(BlockingIOError):
                while True:
                    os.write(filler, b"." * size)
    finally:
        os.close(filler)


def test_an_error_ends_serve_even_with_a_full_stderr_nobody_reads(tmp_path):
    """serve's error message went straight to stderr once the log had had its
    2 s: on a full pipe that nobody reads, that write waited for good, and
    serve (its port taken here) never exited."""
    import socket
    import subprocess

    from conftest import BINARY

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        read_end, write_end = os.pipe()  # read_end is never read
        fill_pipe(write_end)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        started = time.monotonic()
        process = subprocess.Popen(
            [str(BINARY), "serve", "--port", str(taken.getsockname()[1]), "--model",
             f"tab={fixture_dir('tabular_mlp')}"], stdout=subprocess.DEVNULL, stderr=write_end, env=env)
        os.close(write_end)
        try:
            code = process.wait(20)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(read_end)

    assert code == 1, "serve did not exit on its error: it waited for a stderr nobody reads"
    assert time.monotonic() - started < 10


def test_stopped_is_the_last_line_even_when_stderr_is_slow_to_take_it(tmp_path):
    """The --shutdown-timeout timer lived until serve returned, after
    "stopped" was logged and while the log waited for stderr: with a reader
    slow to take it, "--shutdown-timeout (0.3 s) is over: stopping the
    explanations still running" came after "stopped", with nothing running.
    Here stderr is full, and the log's thread waits to write a request's line,
    when SIGTERM comes; stderr is read only once the 0.3 s are over."""
    import signal

    read_end, write_end = os.pipe()
    try:
        with serve_with_stderr(write_end, "--shutdown-timeout", "0.3") as (process, port):
            fill_pipe(write_end)
            os.close(write_end)
            get_healthz(port, 1)
            time.sleep(0.2)  # the log's thread has taken the request's line and waits for stderr
            process.send_signal(signal.SIGTERM)
            time.sleep(1.0)  # past the 0.3 s, within the 2 s the log gets to reach stderr at exit
            logged = b""
            while chunk := os.read(read_end, 1 << 16):  # to the end: the server has exited
                logged += chunk
            assert process.wait(20) == 0
    finally:
        os.close(read_end)

    lines = logged.decode(errors="replace").splitlines()
    assert lines[-1] == "xaiserve: stopped", lines[-3:]


def test_a_non_blocking_stderr_read_slowly_gets_every_line_whole(tmp_path):
    """Node, and some CI runners, give a child a non-blocking stderr pipe:
    once it was full, the log's write said EAGAIN and the rest of the batch
    was thrown away (up to 4 MiB), neither written nor counted as dropped, and
    a line cut in the middle was glued to the next."""
    import fcntl
    import signal
    import threading

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETFL, fcntl.fcntl(write_end, fcntl.F_GETFL) | os.O_NONBLOCK)
    logged = bytearray()

    def read_slowly():
        while chunk := os.read(read_end, 4096):
            logged.extend(chunk)
            time.sleep(0.002)

    reader = threading.Thread(target=read_slowly, daemon=True)
    try:
        with serve_with_stderr(write_end) as (process, port):
            os.close(write_end)
            get_healthz(port, 1500)  # about 130 KB of access log, twice what the pipe holds
            reader.start()  # once the pipe has been full a while
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
            reader.join(20)
    finally:
        os.close(read_end)

    lines = logged.decode(errors="replace").splitlines()
    access = [line for line in lines if "GET /healthz" in line]
    whole = re.compile(r"\S+Z 127\.0\.0\.1 GET /healthz model=- method=healthz status=200 latency_ms=[\d.]+"
                       r"( queued_ms=[\d.]+)?")
    assert [line for line in access if not whole.fullmatch(line)] == []  # none cut or glued
    assert len(access) == 1500, f"{len(access)} of 1500 access log lines arrived"
    assert not any("were dropped" in line for line in lines)
    assert lines[-1] == "xaiserve: stopped", lines[-3:]


def test_model_version_status_is_newest_first_when_the_newest_version_failed(xaiserve, tmp_path):
    """A newest version that failed to load came last: [2, 1, 3]."""
    base = tmp_path / "m"
    base.mkdir()
    for version in ("1", "2"):
        (base / version).symlink_to(fixture_dir("tabular_mlp"), target_is_directory=True)
    (base / "3" / "variables").mkdir(parents=True)
    (base / "3" / "saved_model.pb").write_bytes(b"not a SavedModel")
    server = ServerProcess("--model", f"m={base}", log_dir=tmp_path).start()
    try:
        status = server.get("/v1/models/m").expect(200)
    finally:
        server.stop()

    listed = [(entry["version"], entry["state"]) for entry in status["model_version_status"]]
    assert listed == [("3", "END"), ("2", "AVAILABLE"), ("1", "AVAILABLE")], status


def test_names_from_the_model_and_its_metadata_are_escaped_in_the_log_and_banner(xaiserve, tmp_path):
    from test_cli_errors import assert_escaped, model_with_odd_names

    model = model_with_odd_names(tmp_path)
    server = ServerProcess("--model", f"m={model}", log_dir=tmp_path).start()
    try:
        server.post("/v1/models/m:explain", {"instances": [read_instances("tabular_mlp")[0]],
                                             "parameters": {"outputName": "nope"}})
        log = server.log_once(lambda text: "loaded from" in text)
    finally:
        server.stop()

    assert_escaped(log)
    assert_escaped("".join(server.stdout_lines))
