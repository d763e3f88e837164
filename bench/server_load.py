#!/usr/bin/env python3
"""Load on `xaiserve serve`, over loopback only: requests per second and
p50/p99 latency of :explain with Integrated Gradients (50 steps) on the demo
models, with 1 and with 8 concurrent clients, and whether concurrent
explanations of one model would gain from being batched together (one
request of N instances vs N concurrent single-instance requests).

    bench/server_load.py                       # starts build/xaiserve on the demo models
    bench/server_load.py --url http://127.0.0.1:8080 --seconds 20
    bench/server_load.py --clients 8 --serve-flag=--cross-request-batching   # batching on vs off

Each client is a thread with its own keep-alive connection sending one
instance per request, for a bounded time (--seconds) or count (--requests).
Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
DEMO_INSTANCES = {"tabular": "tabular_mlp", "image": "shapes_cnn", "text": "text_classifier"}


def start_server(binary: Path, fixtures: Path, flags: list[str] = ()) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(
        [str(binary), "serve", "--port", "0", "--demo-dir", str(fixtures), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    deadline = time.monotonic() + 120
    for line in process.stdout:
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return process, match.group(1)
        if time.monotonic() > deadline:
            break
    process.kill()
    sys.exit("xaiserve serve did not start")


class Client:
    def __init__(self, url: str):
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)

    def post(self, path: str, body: bytes) -> float:
        start = time.perf_counter()
        self.connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
        return time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_load(url: str, path: str, bodies: list[bytes], clients: int, seconds: float, max_requests: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    counter = iter(range(max_requests))

    def work(worker: int):
        client = Client(url)
        i = worker
        while time.monotonic() < stop_at:
            with lock:
                if next(counter, None) is None:
                    return
            latency = client.post(path, bodies[i % len(bodies)])
            i += 1
            with lock:
                latencies.append(latency)

    Client(url).post(path, bodies[0])  # warm-up
    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def batching_experiment(url: str, model: str, instances: list, n: int, parameters: dict) -> dict:
    """One request of n instances vs n concurrent requests of one instance."""
    path = f"/v1/models/{model}:explain"
    batch = (instances * n)[:n]
    one = json.dumps({"instances": batch, "parameters": parameters}).encode()
    singles = [json.dumps({"instances": [x], "parameters": parameters}).encode() for x in batch]
    Client(url).post(path, one)  # warm-up
    repeats = 3
    batched = min(Client(url).post(path, one) for _ in range(repeats))
    concurrent = []
    for _ in range(repeats):
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda b=b: Client(url).post(path, b)) for b in singles]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent.append(time.perf_counter() - start)
    sequential = min(sum(Client(url).post(path, b) for b in singles) for _ in range(repeats))
    return {"n": n, "one_request_ms": 1000 * batched, "n_concurrent_ms": 1000 * min(concurrent),
            "n_sequential_ms": 1000 * sequential}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start build/xaiserve)")
    parser.add_argument("--binary", type=Path, default=REPO / "build" / "xaiserve")
    parser.add_argument("--fixtures", type=Path, default=REPO / "build" / "fixtures")
    parser.add_argument("--serve-flag", action="append", default=[],
                        help="extra flag for the started server, e.g. --serve-flag=--cross-request-batching (repeatable)")
    parser.add_argument("--models", default="tabular,image")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10, help="per measurement (bounded)")
    parser.add_argument("--requests", type=int, default=5000, help="at most this many per measurement")
    parser.add_argument("--batch-n", type=int, default=8, help="N of the batching experiment (0: skip it)")
    args = parser.parse_args()

    process = None
    url = args.url
    if url is None:
        process, url = start_server(args.binary, args.fixtures, args.serve_flag)
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"{url}: this load script only talks to a server on this machine (127.0.0.1)")
    parameters = {"integratedGradientsAttribution": {"stepCount": args.steps}}
    try:
        flags = f"  server flags: {' '.join(args.serve_flag)}" if args.serve_flag else ""
        print(f"# {url}  IG {args.steps} steps, one instance per request, {os.cpu_count()} cores{flags}")
        print(f"{'model':8} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for model in args.models.split(","):
            instances = [json.loads(l) for l in (args.fixtures / DEMO_INSTANCES[model] / "instances.jsonl").read_text().splitlines() if l.strip()]
            bodies = [json.dumps({"instances": [x], "parameters": parameters}).encode() for x in instances]
            for clients in map(int, args.clients.split(",")):
                r = run_load(url, f"/v1/models/{model}:explain", bodies, clients, args.seconds, args.requests)
                print(f"{model:8} {clients:7d} {r['requests']:8d} {r['rps']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}", flush=True)
        if args.batch_n > 0:
            print(f"# batching: one request of N instances vs N concurrent (and sequential) single-instance requests")
            for model in args.models.split(","):
                instances = [json.loads(l) for l in (args.fixtures / DEMO_INSTANCES[model] / "instances.jsonl").read_text().splitlines() if l.strip()]
                r = batching_experiment(url, model, instances, args.batch_n, parameters)
                print(f"{model:8} N={r['n']}: one request {r['one_request_ms']:.1f} ms, N concurrent {r['n_concurrent_ms']:.1f} ms, "
                      f"N sequential {r['n_sequential_ms']:.1f} ms", flush=True)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


if __name__ == "__main__":
    main()
