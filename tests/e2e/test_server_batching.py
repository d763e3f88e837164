"""Cross-request batching in `xaiserve serve --cross-request-batching`
(serving/batching_runtime.h): the path points of concurrent explanations of
one model share model runs, and every client still gets exactly the answer it
gets with batching off (the default). The server's /metrics shows that runs
were merged."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import demo_model_flags, read_instances, running_server

TABULAR = read_instances("tabular_mlp")
IMAGE = read_instances("shapes_cnn")

# (route, body): gradient runs (IG, XRAI) and forward-only runs (Sampled
# Shapley), instances of several shapes of request.
WORK = [
    *[("/v1/models/tabular:explain", {"instances": [x]}) for x in TABULAR],
    ("/v1/models/tabular:explain", {"instances": TABULAR[:3], "parameters": {"integratedGradientsAttribution": {"stepCount": 30}}}),
    ("/v1/models/tabular:explain", {"instances": TABULAR[1:3], "parameters": {"sampledShapleyAttribution": {"pathCount": 5}}}),
    ("/v1/models/tabular:explain", {"instances": TABULAR[:1], "parameters": {"topK": 2}}),
    ("/v1/models/image:explain", {"instances": IMAGE[:1], "parameters": {"integratedGradientsAttribution": {"stepCount": 20}}}),
    ("/v1/models/image:explain", {"instances": IMAGE[1:2], "parameters": {"integratedGradientsAttribution": {"stepCount": 20}}}),
    ("/v1/models/image:explain", {"instances": IMAGE[:1], "parameters": {"xraiAttribution": {"stepCount": 8}}}),
]
CLIENTS = 8


def served(*flags: str, log_dir):
    return running_server(
        *demo_model_flags("tabular", "image"),
        *flags,
        log_dir=log_dir,
    )


def merged_runs(server, model: str) -> int | None:
    text = server.get("/metrics").raw.decode()
    match = re.search(rf'^xaiserve_path_runs_merged_total{{model="{model}"}} (\d+)$', text, re.M)
    return int(match.group(1)) if match else None


def concurrent_round(server) -> list[tuple[int, int, dict]]:
    """Every client sends every request of WORK (each client in its own
    order), all clients at once."""
    start = threading.Barrier(CLIENTS)

    def client(worker: int):
        start.wait()
        out = []
        for i in range(len(WORK)):
            k = (worker + i) % len(WORK)
            reply = server.post(*WORK[k])
            out.append((k, reply.status, reply.json()))
        return out

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return [r for results in pool.map(client, range(CLIENTS)) for r in results]


@pytest.fixture(scope="module")
def unbatched_answers(xaiserve, tmp_path_factory):
    """Each request of WORK answered alone, by a server with batching off."""
    with served(log_dir=tmp_path_factory.mktemp("unbatched")) as server:
        assert merged_runs(server, "tabular") is None  # no batching metrics without batching
        return [server.post(path, body).expect(200) for path, body in WORK]


def test_concurrent_requests_merge_runs_and_get_the_unbatched_answers(unbatched_answers, tmp_path):
    with served("--cross-request-batching", log_dir=tmp_path) as server:
        assert merged_runs(server, "tabular") == 0

        def merged() -> int:
            return merged_runs(server, "tabular") + merged_runs(server, "image")

        # Merging needs requests to overlap; a few rounds make that certain
        # without depending on timing (it almost always happens in the first;
        # once, in a fresh-clone CI run, ten rounds of tabular alone did not).
        rounds = 0
        while rounds == 0 or (merged() == 0 and rounds < 20):
            rounds += 1
            outcomes = concurrent_round(server)
            assert len(outcomes) == CLIENTS * len(WORK)
            for k, status, body in outcomes:
                assert status == 200, body
                assert body == unbatched_answers[k], f"{WORK[k]} answered differently with batching on"
        assert merged() > 0, "no model run was shared by concurrent explanations"


def test_a_lone_request_is_not_merged(unbatched_answers, tmp_path):
    with served("--cross-request-batching", log_dir=tmp_path) as server:
        for k, (path, body) in enumerate(WORK):
            assert server.post(path, body).expect(200) == unbatched_answers[k]
        assert merged_runs(server, "tabular") == 0
        assert merged_runs(server, "image") == 0
        runs = int(re.search(r'^xaiserve_path_runs_total{model="tabular"} (\d+)$',
                             server.get("/metrics").raw.decode(), re.M).group(1))
        assert runs > 0
