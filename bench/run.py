#!/usr/bin/env python3
"""The benchmark harness (issue #6): xaiserve against what a user would
otherwise run, on the same SavedModels, in one run on this machine. Writes
bench/results.json (every measurement, machine-readable) and bench/RESULTS.md
(tables and the targets, made from results.json only).

    scripts/bench.sh            # builds what it needs, then runs this
    bench/run.py [--quick] [--models tabular_mlp,cnn] [--out-dir DIR]

For each model (tabular_mlp and cnn from build/fixtures, mobilenet_v2_224
from build/bench-fixtures) and method (Integrated Gradients with 50 steps,
IG with SmoothGrad (3 noisy samples, sigma 0.1), XRAI on image models,
Sampled Shapley with 10 paths on the tabular model) it measures:

- xaiserve: time per explanation from `xaiserve explain` (the per-instance
  time the CLI prints, on the first instance repeated; the first, which builds
  the gradient graph, is reported apart) and over REST (`xaiserve serve`
  started here on a free port, xaiserve_bench_load sending one request at a
  time on a keep-alive connection, after a warm-up request);
- Python (bench/python_reference.py): PAIR saliency's IG, SmoothGrad and XRAI,
  a batched tf.GradientTape IG, a Python Sampled Shapley loop;
- the floor (xaiserve_bench_floor): forward and input gradients of the same
  number of path points, in runs of as many rows as xaiserve's (its default,
  AutoBatchSize; the tape reference gets the same), through the runtime only;
- XRAI's segmentation and selection alone, xaiserve (xaiserve_bench_xrai) vs
  saliency's, on the same image and IG attributions;
- peak RSS of every process (wait4's ru_maxrss), model load time, and the
  server's requests/s and p50/p99 with 1 and 8 clients on the small models.

Medians over --repeats timed runs, after the first run and --warmup untimed
ones (the same for every process: TensorFlow in a fresh process speeds up
over its first runs). Standard library only;
the Python reference runs in the repo's .venv.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Methods: CLI flags, REST parameters, path points per explanation (the floor's).
STEPS, NOISY_SAMPLES, NOISE_SIGMA, PATHS = 50, 3, 0.1, 10
# xaiserve's rows per run when none is asked for (AutoBatchSize in
# src/attribution/batched_evaluator.h): as many as keep a run's input at most
# this many values, at most this many rows. The floor takes the same by
# itself (and reports it, which run_benchmark checks); the tape reference is
# given it, so all three batch alike.
AUTO_BATCH_ELEMENTS, MAX_AUTO_BATCH_ROWS = 64 * 224 * 224 * 3, 1024
METHODS = {
    "ig": {
        "label": "IG 50 steps",
        "cli": ["--method", "integrated-gradients", "--steps", str(STEPS)],
        "rest": {"integratedGradientsAttribution": {"stepCount": STEPS}},
        "points": STEPS + 1,
    },
    "smoothgrad": {
        "label": f"IG + SmoothGrad ({NOISY_SAMPLES} x {STEPS} steps)",
        "cli": ["--method", "integrated-gradients", "--steps", str(STEPS),
                "--noisy-samples", str(NOISY_SAMPLES), "--noise-sigma", str(NOISE_SIGMA)],
        "rest": {"integratedGradientsAttribution": {
            "stepCount": STEPS, "smoothGradConfig": {"noiseSigma": NOISE_SIGMA, "noisySampleCount": NOISY_SAMPLES}}},
        "points": NOISY_SAMPLES * (STEPS + 1),
    },
    "xrai": {
        "label": "XRAI 50 steps",
        "cli": ["--method", "xrai", "--steps", str(STEPS)],
        "rest": {"xraiAttribution": {"stepCount": STEPS}},
        "points": 2 * (STEPS + 1),  # black and white baselines
    },
    "shapley": {
        "label": f"Sampled Shapley {PATHS} paths",
        "cli": ["--method", "sampled-shapley", "--paths", str(PATHS)],
        "rest": {"sampledShapleyAttribution": {"pathCount": PATHS}},
        "points": None,  # forward passes only: no gradient floor
    },
}
MODELS = {  # name: (fixture directory under build/, methods, small?)
    "tabular_mlp": ("fixtures", ["ig", "smoothgrad", "shapley"], True),
    "cnn": ("fixtures", ["ig", "smoothgrad", "xrai"], True),
    "mobilenet_v2_224": ("bench-fixtures", ["ig", "smoothgrad", "xrai"], False),
}
THROUGHPUT_CLIENTS = (1, 8)

# Targets (issue #6).
SMALL_SPEEDUP, LARGE_SPEEDUP, FLOOR_RATIO, XRAI_PHASE_SPEEDUP, SERVER_SCALING = 3.0, 1.0, 1.15, 5.0, 1.6


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes --------------------------------------------------------------------


class Measured:
    """A finished child process: output, wall time, peak RSS (MB)."""

    def __init__(self, returncode, stdout, stderr, wall_s, peak_rss_mb):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.wall_s, self.peak_rss_mb = wall_s, peak_rss_mb

    def json(self) -> dict:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        if self.returncode != 0 or not lines:
            raise RuntimeError(f"exit {self.returncode}; stderr:\n{self.stderr[-3000:]}")
        return json.loads(lines[-1])


def wait_measured(process: subprocess.Popen, start: float) -> tuple[int, float, float]:
    """Reaps `process` with wait4: (exit code, wall seconds, peak RSS MB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024.0


def run(command: list, keep_stdout: bool = True) -> Measured:
    """Runs a command to completion with its peak RSS (each in its own process)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen([str(c) for c in command], stdout=out if keep_stdout else subprocess.DEVNULL,
                                   stderr=err, env=env, text=True)
        code, wall, rss = wait_measured(process, start)
        out.seek(0)
        err.seek(0)
        return Measured(code, out.read(), err.read(), wall, rss)


class Server:
    """`xaiserve serve` on a free port with one model; peak RSS when stopped."""

    def __init__(self, binary: Path, name: str, model_dir: Path):
        self.start = time.perf_counter()
        self.process = subprocess.Popen(
            [str(binary), "serve", "--port", "0", "--poll-seconds", "0", "--model", f"{name}={model_dir}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        for line in self.process.stdout:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                self.ready_s = time.perf_counter() - self.start
                # Keep reading: the server goes on to print example requests
                # (a whole instance: megabytes for a 224x224 image), and a full
                # pipe would block it before it serves.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
        self.stop()
        raise RuntimeError("xaiserve serve exited before listening")

    def stop(self) -> float:
        self.process.send_signal(signal.SIGTERM)
        _, _, rss = wait_measured(self.process, self.start)
        return rss


# --- measurements -------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure_cli(ctx, model_dir: Path, method: str, repeats: int, warmup: int, workdir: Path) -> dict:
    """`xaiserve explain` on the first instance repeated: per-instance times from its --timings file."""
    first_line = (model_dir / "instances.jsonl").read_text().splitlines()[0]
    instances = workdir / "cli_instances.jsonl"
    instances.write_text((first_line + "\n") * (1 + warmup + repeats))
    timings = workdir / "cli_timings.txt"
    result = run([ctx.build / "xaiserve", "explain", model_dir, "--instances", instances, "--timings", timings,
                  *METHODS[method]["cli"]], keep_stdout=False)
    if result.returncode != 0:
        raise RuntimeError(f"xaiserve explain failed:\n{result.stderr[-3000:]}")
    seconds = [float(s) for s in timings.read_text().split()]
    times = [1000 * s for s in seconds[1 + warmup:]]
    return {"first_ms": 1000 * seconds[0], "times_ms": times, "median_ms": median(times), "instances_run": len(seconds),
            "process_wall_s": result.wall_s, "peak_rss_mb": result.peak_rss_mb}


def measure_rest(ctx, server: Server, name: str, model_dir: Path, method: str, repeats: int, warmup: int,
                 workdir: Path) -> dict:
    instance = json.loads((model_dir / "instances.jsonl").read_text().splitlines()[0])
    body = workdir / f"rest_{method}.json"
    body.write_text(json.dumps({"instances": [instance], "parameters": METHODS[method]["rest"]}))
    result = run([ctx.build / "xaiserve_bench_load", "--port", server.port, "--path", f"/v1/models/{name}:explain",
                  "--body", body, "--clients", 1, "--requests", repeats, "--warmup", 1 + warmup,
                  "--latencies"]).json()
    return {"times_ms": result["latencies_ms"], "median_ms": result["median_ms"]}


def measure_throughput(ctx, server: Server, name: str, model_dir: Path, seconds: float, workdir: Path) -> list:
    instance = json.loads((model_dir / "instances.jsonl").read_text().splitlines()[0])
    body = workdir / "throughput.json"
    body.write_text(json.dumps({"instances": [instance], "parameters": METHODS["ig"]["rest"]}))
    rows = []
    for clients in THROUGHPUT_CLIENTS:
        r = run([ctx.build / "xaiserve_bench_load", "--port", server.port, "--path", f"/v1/models/{name}:explain",
                 "--body", body, "--clients", clients, "--seconds", seconds, "--warmup", 2])
        result = r.json()
        rows.append({"model": name, "method": "ig", "clients": clients, "requests": result["requests"],
                     "seconds": result["seconds"], "requests_per_second": result["requests_per_second"],
                     "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "errors": result["errors"],
                     "client_peak_rss_mb": r.peak_rss_mb})
    return rows


def auto_batch_size(model_dir: Path) -> int:
    """The rows per run xaiserve takes by default for the model's instance (see AUTO_BATCH_ELEMENTS)."""
    elements = max(1, len(flatten(json.loads((model_dir / "instances.jsonl").read_text().splitlines()[0]))))
    return max(1, min(MAX_AUTO_BATCH_ROWS, AUTO_BATCH_ELEMENTS // elements))


def flatten(value) -> list:
    return [x for item in value for x in flatten(item)] if isinstance(value, list) else [value]


def floor_command(ctx, model_dir: Path, method: str, repeats: int, warmup: int) -> list:
    """xaiserve_bench_floor on the method's path points, in runs of xaiserve's default rows per run."""
    return [ctx.build / "xaiserve_bench_floor", model_dir, "--points", METHODS[method]["points"],
            "--repeats", repeats, "--warmup", warmup]


def measure_floor(ctx, model_dir: Path, method: str, repeats: int, warmup: int) -> dict:
    result = run(floor_command(ctx, model_dir, method, repeats, warmup))
    floor = result.json()
    if floor["batch_size"] != auto_batch_size(model_dir):
        raise RuntimeError(f"the floor ran {floor['batch_size']} rows per run, bench/run.py expected "
                           f"{auto_batch_size(model_dir)}: AUTO_BATCH_ELEMENTS / MAX_AUTO_BATCH_ROWS disagree with "
                           "src/attribution/batched_evaluator.h")
    return {"points": floor["points"], "runs": floor["runs"], "batch_size": floor["batch_size"],
            "warmup": floor["warmup"], "load_ms": floor["load_ms"],
            "first_ms": floor["first_ms"],
            "times_ms": floor["times_ms"], "median_ms": floor["median_ms"],
            "forward_1_row_ms": floor["forward_1_row_ms"], "peak_rss_mb": result.peak_rss_mb}


def measure_lean_ig(ctx, model_dir: Path, repeats: int, warmup: int) -> dict:
    """The least an IG explanation can do on the same runtime (xaiserve_bench_floor --lean-ig): path points, the
    run, the weighted sum, one JSON line; what it takes beyond the floor, any implementation pays."""
    result = run(floor_command(ctx, model_dir, "ig", repeats, warmup) + ["--lean-ig"])
    lean = result.json()
    return {"points": lean["points"], "warmup": lean["warmup"], "first_ms": lean["first_ms"],
            "times_ms": lean["times_ms"], "median_ms": lean["median_ms"], "peak_rss_mb": result.peak_rss_mb}


def measure_python(ctx, model_dir: Path, method: str, repeats: int, warmup: int, workdir: Path) -> dict:
    command = [ctx.python, REPO / "bench" / "python_reference.py", model_dir, "--method", method,
               "--repeats", repeats, "--warmup", warmup, "--steps", STEPS, "--noisy-samples", NOISY_SAMPLES, "--noise-sigma", NOISE_SIGMA,
               "--paths", PATHS, "--batch-size", auto_batch_size(model_dir),
               "--xrai-phase-repeats", max(1, min(repeats, 3))]
    if method == "xrai":
        command += ["--xrai-attributions-out", workdir / "xrai_attributions.json"]
    result = run(command)
    python = result.json()
    out = {"import_s": python["import_s"], "load_s": python["load_s"], "warmup": python["warmup"],
           "peak_rss_mb": result.peak_rss_mb, "impls": {}}
    for impl, r in python["impls"].items():
        out["impls"][impl] = {"first_ms": 1000 * r["first_s"], "times_ms": [1000 * t for t in r["times_s"]],
                              "median_ms": 1000 * r["median_s"], "attribution_sum": r["attribution_sum"]}
    if "xrai_phases" in python:
        phases = python["xrai_phases"]
        out["xrai_phases"] = {"segment_ms": 1000 * phases["segment_s"], "select_ms": 1000 * phases["select_s"],
                              "median_ms": 1000 * phases["median_s"], "regions": phases["regions"]}
    return out


def measure_xrai_phases(ctx, model_dir: Path, repeats: int, workdir: Path) -> dict:
    result = run([ctx.build / "xaiserve_bench_xrai", "--instances", model_dir / "instances.jsonl",
                  "--attributions", workdir / "xrai_attributions.json", "--repeats", repeats])
    phases = result.json()
    return {"segment_ms": phases["segment_ms"], "select_ms": phases["select_ms"], "median_ms": phases["median_ms"],
            "regions": phases["regions"]}


def pool(rounds: list[dict]) -> dict:
    """Measurements of one program in several rounds as one: every round's
    timed runs together (and their median), the largest peak RSS, the other
    fields from the first round, and the rounds' own medians."""
    pooled = dict(rounds[0])
    pooled["times_ms"] = [t for r in rounds for t in r["times_ms"]]
    pooled["median_ms"] = median(pooled["times_ms"])
    pooled["round_medians_ms"] = [r["median_ms"] for r in rounds]
    if "peak_rss_mb" in pooled:
        pooled["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    return pooled


def pool_python(rounds: list[dict]) -> dict:
    pooled = dict(rounds[0])
    pooled["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    pooled["impls"] = {impl: pool([r["impls"][impl] for r in rounds]) for impl in rounds[0]["impls"]}
    return pooled


# --- summary: ratios and targets from the measurements only ---------------------------


def ratio(numerator: float, denominator: float) -> float | None:
    if numerator is None or denominator is None or not denominator > 0:
        return None
    return numerator / denominator


def summarize(results: dict) -> None:
    """Adds ratios to every row and the target verdicts, from the measured medians."""
    for row in results["explanations"]:
        xaiserve = row["xaiserve_cli"]["median_ms"]
        python = {impl: r["median_ms"] for impl, r in row["python"]["impls"].items()}
        fastest = min(python, key=python.get)
        row["ratios"] = {
            "python_over_xaiserve": {impl: ratio(ms, xaiserve) for impl, ms in python.items()},
            "fastest_python": fastest,
            "fastest_python_over_xaiserve": ratio(python[fastest], xaiserve),
            "python_over_xaiserve_rest": ratio(python[fastest], row["xaiserve_rest"]["median_ms"]),
            "xaiserve_over_floor": ratio(xaiserve, row["floor"]["median_ms"]) if row.get("floor") else None,
            # The most any implementation running the same TensorFlow work could gain.
            "fastest_python_over_floor": ratio(python[fastest], row["floor"]["median_ms"]) if row.get("floor") else None,
        }
        if row.get("lean_ig") and row.get("floor"):
            lean = row["lean_ig"]["median_ms"]
            row["ratios"]["lean_over_floor"] = ratio(lean, row["floor"]["median_ms"])
            row["ratios"]["xaiserve_over_lean"] = ratio(xaiserve, lean)
    for row in results["xrai_phases"]:
        row["python_over_xaiserve"] = ratio(row["python"]["median_ms"], row["xaiserve"]["median_ms"])
    scaling = {}
    for model in {r["model"] for r in results["server_throughput"]}:
        by_clients = {r["clients"]: r["requests_per_second"] for r in results["server_throughput"] if r["model"] == model}
        scaling[model] = ratio(by_clients.get(8), by_clients.get(1))
    results["server_scaling_8_over_1"] = scaling

    def round_by_round(numerator: dict, denominator: dict) -> str:
        """The ratio in each round (a fresh process of each program, one after
        the other), which shows a slow spell that hit one program's round."""
        a, b = numerator.get("round_medians_ms"), denominator.get("round_medians_ms")
        if not a or not b or len(a) != len(b):
            return ""
        return "round by round: " + ", ".join(f"{x / y:.2f}" for x, y in zip(a, b))

    def lean_note(row: dict) -> str:
        """What the least IG explanation takes over the same floor: the part of a miss no implementation avoids."""
        lean_over_floor = row["ratios"].get("lean_over_floor")
        if lean_over_floor is None:
            return ""
        verdict = "out of reach for any implementation" if lean_over_floor > FLOOR_RATIO else "reachable"
        return (f"a lean IG that only builds the path, runs it, sums and writes one line takes "
                f"{row['lean_ig']['median_ms']:.3f} ms, lean / floor {lean_over_floor:.2f} ({verdict}), "
                f"xaiserve / lean {row['ratios']['xaiserve_over_lean']:.2f}; ")

    def fastest_rounds(numerator: dict, denominator: dict) -> float | None:
        """The ratio of the two programs' fastest rounds (each round a fresh
        process). On this machine a process keeps its own speed: some run
        tabular_mlp's floor at 35 us for their whole life and others at
        55-90, so pooled medians can land in either mode by the luck of
        which rounds were slow, and this ratio checks them."""
        a, b = numerator.get("round_medians_ms"), denominator.get("round_medians_ms")
        if not a or not b or len(a) < 2 or len(a) != len(b):
            return None
        return ratio(min(a), min(b))

    targets = []
    small = {name for name, (_, _, is_small) in MODELS.items() if is_small}
    for row in results["explanations"]:
        if row["method"] in ("ig", "smoothgrad", "xrai"):
            want = SMALL_SPEEDUP if row["model"] in small else LARGE_SPEEDUP
            reachable = row["ratios"]["fastest_python_over_floor"]
            rounds = round_by_round(row["python"]["impls"][row["ratios"]["fastest_python"]], row["xaiserve_cli"])
            targets.append({"target": f"{row['method']} fastest Python / xaiserve >= {want:g}", "model": row["model"],
                            "method": row["method"], "value": row["ratios"]["fastest_python_over_xaiserve"],
                            "threshold": want, "kind": "min",
                            "if_missed": (rounds or None) if reachable is None or reachable >= want else
                            f"out of reach with any overhead: fastest Python / floor is {reachable:.2f}, i.e. "
                            f"TensorFlow's own forward and backward work, the same in every program, leaves "
                            f"less than {want:g}x to gain"})
        if row["method"] in ("ig", "smoothgrad") and row.get("floor"):
            extra = row["xaiserve_cli"]["median_ms"] - row["floor"]["median_ms"]
            check = fastest_rounds(row["xaiserve_cli"], row["floor"])
            # Met only if the fastest rounds agree: a pooled median that met
            # the target because the floor's rounds were slow is not a result.
            unsettled = check is not None and check > FLOOR_RATIO and row["ratios"]["xaiserve_over_floor"] <= FLOOR_RATIO
            targets.append({"target": f"{row['method']} xaiserve / floor <= {FLOOR_RATIO:g}", "model": row["model"],
                            "method": row["method"], "value": row["ratios"]["xaiserve_over_floor"],
                            "fastest_rounds": check, "threshold": FLOOR_RATIO, "kind": "max",
                            "if_missed": (f"met by the pooled medians only: the fastest rounds give {check:.2f} "
                                          f"(xaiserve {min(row['xaiserve_cli']['round_medians_ms']):.3f} ms, floor "
                                          f"{min(row['floor']['round_medians_ms']):.3f} ms); " if unsettled else
                                          f"xaiserve spends {extra:.3g} ms per explanation beyond the floor's "
                                          f"{row['floor']['median_ms']:.3g} ms (README, Benchmarks: where the time "
                                          f"goes); ")
                            + lean_note(row)
                            + (round_by_round(row["xaiserve_cli"], row["floor"]) or "no rounds recorded")})
    for row in results["xrai_phases"]:
        targets.append({"target": f"XRAI segmentation + selection, Python / xaiserve >= {XRAI_PHASE_SPEEDUP:g}",
                        "model": row["model"], "method": "xrai", "value": row["python_over_xaiserve"],
                        "threshold": XRAI_PHASE_SPEEDUP, "kind": "min"})
    if "tabular_mlp" in scaling:
        targets.append({"target": f"server requests/s, 8 clients / 1 client >= {SERVER_SCALING:g}",
                        "model": "tabular_mlp", "method": "ig", "value": scaling["tabular_mlp"],
                        "threshold": SERVER_SCALING, "kind": "min"})
    for t in targets:
        value = t["value"]
        t["met"] = value is not None and (value >= t["threshold"] if t["kind"] == "min" else value <= t["threshold"])
        if t.get("fastest_rounds") is not None and t["kind"] == "max":
            t["met"] = t["met"] and t["fastest_rounds"] <= t["threshold"]
    results["targets"] = targets


# --- RESULTS.md ---------------------------------------------------------------------------


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value != value:
        return "-"
    return f"{value:.{digits}f}"


def fmt_ms(value) -> str:
    if value is None:
        return "-"
    return fmt(value, 2 if value < 10 else 1 if value < 1000 else 0)


def render_markdown(results: dict) -> str:
    meta = results["meta"]
    out = [
        "# xaiserve benchmark results",
        "",
        f"Written by `{meta['command']}` on {meta['date']} (commit {meta['commit']}); every number below comes from",
        "`bench/results.json` of the same run. Do not edit by hand: run `scripts/bench.sh` again.",
        "",
        f"Machine: {meta['machine']['cpus']} CPUs ({meta['machine']['cpu_model']}), Python {meta['machine']['python']}, "
        f"load average {meta['machine']['loadavg_start']} at the start and {meta['machine']['loadavg_end']} at the end "
        "(other work on the machine skews the numbers; compare within the run). "
        f"Medians of {meta['rounds']['small']} x {meta['repeats']['small']} timed runs on the small models and "
        f"{meta['rounds']['large']} x {meta['repeats']['large']} on mobilenet_v2_224 (rounds taken in turn over "
        f"the programs, pooled). Every process (xaiserve, floor and Python alike) makes its first run, then "
        f"{meta['warmup']['small']} (small models) or {meta['warmup']['large']} (mobilenet_v2_224) untimed warm-up "
        f"runs, then the timed ones; {'--quick' if meta['quick'] else 'full run'}.",
        "",
        "## Time per explanation (ms, one instance)",
        "",
        "xaiserve CLI: the per-instance time `xaiserve explain --timings` writes (warm; the first instance, which builds the "
        "gradient graph, is in results.json as first_ms). REST: one request at a time over keep-alive. Floor: forward "
        "and input gradients of the same path points in runs of as many rows as xaiserve's (all of them on the small models, "
        "64 on mobilenet_v2_224) through the TensorFlow runtime only "
        "(`xaiserve_bench_floor`; for XRAI the floor covers its IG part only). Python: PAIR `saliency` (whole path "
        "per batch), a batched `tf.GradientTape` IG (`tape`, in runs of as many rows as xaiserve's), a Python permutation "
        "loop for Shapley "
        "(`loop`). Speed-up: the fastest Python implementation's time over xaiserve's (CLI); fastest Python / floor "
        "is the most any program doing the same TensorFlow work could gain. 1-row forward: one more TensorFlow run "
        "of the instance alone, which xaiserve makes only when it cannot choose the explained output in the first "
        "path run (explicit output indices, top-k above 1, xai_preprocess) or predicts with another signature.",
        "",
        "| model | method | path points | xaiserve CLI | xaiserve REST | floor | Python saliency | Python tape / loop "
        "| speed-up vs fastest Python | fastest Python / floor | xaiserve / floor | 1-row forward |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["explanations"]:
        impls = row["python"]["impls"]
        other = impls.get("tape") or impls.get("loop")
        floor = row.get("floor")
        out.append(
            f"| {row['model']} | {METHODS[row['method']]['label']} | {row['points'] or '-'} "
            f"| {fmt_ms(row['xaiserve_cli']['median_ms'])} | {fmt_ms(row['xaiserve_rest']['median_ms'])} "
            f"| {fmt_ms(floor['median_ms']) if floor else '-'} "
            f"| {fmt_ms(impls['saliency']['median_ms']) if 'saliency' in impls else '-'} "
            f"| {fmt_ms(other['median_ms']) if other else '-'} "
            f"| {fmt(row['ratios']['fastest_python_over_xaiserve'], 2)}x ({row['ratios']['fastest_python']}) "
            f"| {fmt(row['ratios']['fastest_python_over_floor'], 2)}x | {fmt(row['ratios']['xaiserve_over_floor'], 2)} "
            f"| {fmt_ms(floor['forward_1_row_ms']) if floor else '-'} |")
    lean_rows = [row for row in results["explanations"] if row.get("lean_ig") and row.get("floor")]
    if lean_rows:
        out += [
            "",
            "## The least an IG explanation costs (ms, one instance)",
            "",
            "Lean IG (`xaiserve_bench_floor --lean-ig`): per explanation, the path points (zero baseline), the one "
            "run with the top output chosen in it, the weighted sum of the gradients and one JSON line with the "
            "attributions, both ends' outputs, the completeness gap and the prediction, on the same runtime as the "
            "floor, with no metadata, options or checks. Lean / floor is what any implementation pays beyond the "
            "floor; xaiserve / lean is xaiserve's own.",
            "",
            "| model | floor | lean IG | xaiserve CLI | lean / floor | xaiserve / lean | xaiserve / floor |",
            "|---|---|---|---|---|---|---|",
        ]
        def ms(value):  # tabular's runs are tens of microseconds
            return fmt(value, 3) if value is not None and value < 1 else fmt_ms(value)

        for row in lean_rows:
            out.append(
                f"| {row['model']} | {ms(row['floor']['median_ms'])} | {ms(row['lean_ig']['median_ms'])} "
                f"| {ms(row['xaiserve_cli']['median_ms'])} | {fmt(row['ratios']['lean_over_floor'], 2)} "
                f"| {fmt(row['ratios']['xaiserve_over_lean'], 2)} | {fmt(row['ratios']['xaiserve_over_floor'], 2)} |")
    out += [
        "",
        "## XRAI segmentation and region selection (ms)",
        "",
        "The part of XRAI that is not Integrated Gradients, on the same image and IG attributions: xaiserve's "
        "`XraiCandidateRegions` (Felzenszwalb at 6 scales, dilation) and `RankXraiRegions` "
        "(`xaiserve_bench_xrai`) vs saliency's `_get_segments_felzenszwalb` and `XRAI._xrai` (which resizes "
        "the image to 224x224 to segment it).",
        "",
        "| model | xaiserve segment | xaiserve select | xaiserve total | regions | Python segment | Python select "
        "| Python total | regions | Python / xaiserve |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["xrai_phases"]:
        x, p = row["xaiserve"], row["python"]
        out.append(f"| {row['model']} | {fmt_ms(x['segment_ms'])} | {fmt_ms(x['select_ms'])} | {fmt_ms(x['median_ms'])} "
                   f"| {x['regions']} | {fmt_ms(p['segment_ms'])} | {fmt_ms(p['select_ms'])} | {fmt_ms(p['median_ms'])} "
                   f"| {p['regions']} | {fmt(row['python_over_xaiserve'], 1)}x |")
    out += [
        "",
        "## Server throughput (IG 50 steps, one instance per request, keep-alive)",
        "",
        "Load from `xaiserve_bench_load` (C++, one thread and connection per client) for "
        f"{meta['throughput_seconds']:g} s per row, after warm-up requests.",
        "",
        "| model | clients | requests | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["server_throughput"]:
        out.append(f"| {row['model']} | {row['clients']} | {row['requests']} | {fmt(row['requests_per_second'])} "
                   f"| {fmt_ms(row['p50_ms'])} | {fmt_ms(row['p99_ms'])} | {row['errors']} |")
    for model, value in sorted(results["server_scaling_8_over_1"].items()):
        out.append(f"\n{model}: 8 clients / 1 client = {fmt(value, 2)}x")
    out += [
        "",
        "## Model load and peak memory",
        "",
        "Load: `LoadSavedModelRuntime` alone (in `xaiserve_bench_floor`); `xaiserve serve` from process start to "
        "listening (TensorFlow start-up, load, signature rules, gradient check); Python `import tensorflow` and "
        "`tf.saved_model.load`. Peak RSS (MB): the largest of the processes of that kind for the model (CLI and "
        "Python: one process per method; the server: one for every method and the throughput runs).",
        "",
        "| model | xaiserve runtime load ms | xaiserve serve ready s | Python import s | Python load s "
        "| RSS xaiserve explain | RSS xaiserve serve | RSS floor | RSS Python |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["models"]:
        out.append(f"| {row['model']} | {fmt_ms(row['runtime_load_ms'])} | {fmt(row['server_ready_s'], 2)} "
                   f"| {fmt(row['python_import_s'], 2)} | {fmt(row['python_load_s'], 2)} "
                   f"| {fmt(row['peak_rss_mb']['xaiserve_explain'], 0)} | {fmt(row['peak_rss_mb']['xaiserve_serve'], 0)} "
                   f"| {fmt(row['peak_rss_mb']['floor'], 0)} | {fmt(row['peak_rss_mb']['python'], 0)} |")
    out += ["", "## Targets (issue #6)", "",
            "A missed target says why, from this run's measurements.", "",
            "A ratio to the floor counts as met only when the programs' fastest rounds meet it too (shown in "
            "brackets): a process keeps its own speed on this machine, so pooled medians can meet a target by the "
            "luck of which rounds were slow.", "",
            "| target | model | measured | met | if missed, why |", "|---|---|---|---|---|"]
    for t in results["targets"]:
        why = "" if t["met"] else (t.get("if_missed") or "")
        check = f" ({fmt(t['fastest_rounds'], 2)})" if t.get("fastest_rounds") is not None else ""
        out.append(f"| {t['target']} | {t['model']} | {fmt(t['value'], 2)}{check} | "
                   f"{'yes' if t['met'] else '**no**'} | {why} |")
    met = sum(t["met"] for t in results["targets"])
    out += ["", f"{met} of {len(results['targets'])} targets met in this run.", ""]
    return "\n".join(out)


# --- driver --------------------------------------------------------------------------------


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return commit + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round, fewer repeats and warm-up runs, shorter load runs")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--methods", help="comma-separated subset of ig,smoothgrad,xrai,shapley (default: all)")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement on the small models")
    parser.add_argument("--large-repeats", type=int, help="timed runs per measurement on mobilenet_v2_224")
    parser.add_argument("--warmup", type=int, help="untimed runs before the timed ones, on the small models")
    parser.add_argument("--rounds", type=int, help="round-robin rounds over the programs on the small models, pooled")
    parser.add_argument("--large-rounds", type=int, help="round-robin rounds over the programs on mobilenet_v2_224")
    parser.add_argument("--large-warmup", type=int, help="untimed runs before the timed ones, on mobilenet_v2_224")
    parser.add_argument("--throughput-seconds", type=float, help="seconds per server load row")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build", help="where xaiserve and xaiserve_bench_* are")
    parser.add_argument("--fixtures", type=Path, default=REPO / "build" / "fixtures")
    parser.add_argument("--bench-fixtures", type=Path, default=REPO / "build" / "bench-fixtures")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench", help="where results.json and RESULTS.md go")
    parser.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python")
    args = parser.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; known: {', '.join(MODELS)}")
    args.methods = args.methods.split(",") if args.methods else list(METHODS)
    if set(args.methods) - set(METHODS):
        parser.error(f"unknown methods {sorted(set(args.methods) - set(METHODS))}")
    args.repeats = args.repeats or (3 if args.quick else 20)
    args.large_repeats = args.large_repeats or (1 if args.quick else 2)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 20)
    # Each round is a fresh process per program, and a process keeps its own
    # speed: cnn IG's per-round xaiserve / floor ratios ranged 1.06-1.69 in
    # one run (5 rounds), while pairs by hand gave 1.05-1.35. Nine rounds on
    # the small models, where a round is cheap (about 30 s per model).
    args.rounds = args.rounds or (1 if args.quick else 9)
    args.large_rounds = args.large_rounds or (1 if args.quick else 3)
    args.large_warmup = args.large_warmup if args.large_warmup is not None else (0 if args.quick else 1)
    args.throughput_seconds = args.throughput_seconds or (2.0 if args.quick else 5.0)
    return args


class Context:
    def __init__(self, args):
        self.build = args.build_dir
        self.python = args.python
        self.model_dirs = {"fixtures": args.fixtures, "bench-fixtures": args.bench_fixtures}


def main(argv=None) -> int:
    args = parse_args(argv)
    ctx = Context(args)
    for binary in ("xaiserve", "xaiserve_bench_floor", "xaiserve_bench_xrai", "xaiserve_bench_load"):
        if not (ctx.build / binary).exists():
            sys.exit(f"{ctx.build / binary} is missing: run scripts/bench.sh (or scripts/build.sh) first")
    started = time.perf_counter()
    results = {
        "meta": {
            "command": "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "quick": args.quick,
            "repeats": {"small": args.repeats, "large": args.large_repeats},
            "warmup": {"small": args.warmup, "large": args.large_warmup},
            "rounds": {"small": args.rounds, "large": args.large_rounds},
            "throughput_seconds": args.throughput_seconds,
            "parameters": {"steps": STEPS, "noisy_samples": NOISY_SAMPLES, "noise_sigma": NOISE_SIGMA,
                           "paths": PATHS, "batch_size": "xaiserve's default (AutoBatchSize)",
                           "auto_batch_elements": AUTO_BATCH_ELEMENTS, "max_auto_batch_rows": MAX_AUTO_BATCH_ROWS},
            "machine": {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
                        "loadavg_start": loadavg()},
        },
        "explanations": [], "xrai_phases": [], "server_throughput": [], "models": [],
    }
    with tempfile.TemporaryDirectory(prefix="xaiserve-bench-") as tmp:
        for name in args.models:
            subdir, methods, small = MODELS[name]
            model_dir = ctx.model_dirs[subdir] / name
            if not (model_dir / "saved_model.pb").exists():
                sys.exit(f"{model_dir} is missing: run scripts/bench.sh (it makes the fixtures)")
            repeats = args.repeats if small else args.large_repeats
            warmup = args.warmup if small else args.large_warmup
            workdir = Path(tmp) / name
            workdir.mkdir()
            methods = [m for m in methods if m in args.methods]
            model_row = {"model": name, "runtime_load_ms": None, "server_ready_s": None, "python_import_s": None,
                         "python_load_s": None,
                         "peak_rss_mb": {"xaiserve_explain": None, "xaiserve_serve": None, "floor": None, "python": None}}
            rss = model_row["peak_rss_mb"]

            def peak(kind, value):
                rss[kind] = value if rss[kind] is None else max(rss[kind], value)

            log(f"{name}: starting xaiserve serve")
            server = Server(ctx.build / "xaiserve", name, model_dir)
            model_row["server_ready_s"] = server.ready_s
            try:
                for method in methods:
                    row = {"model": name, "method": method, "points": METHODS[method]["points"]}
                    rounds = args.rounds if small else args.large_rounds
                    # Round-robin over the programs, pooled: a slow spell of the
                    # machine then hits all of them, not one.
                    measured = {"python": [], "xaiserve_cli": [], "xaiserve_rest": [], "floor": [], "lean_ig": []}
                    lean = method == "ig" and row["points"] <= auto_batch_size(model_dir)
                    for k in range(rounds):
                        tag = f" (round {k + 1}/{rounds})" if rounds > 1 else ""
                        log(f"{name} {method}: Python reference{tag}")
                        python = measure_python(ctx, model_dir, method, repeats, warmup, workdir)
                        log("    " + ", ".join(f"{impl} {fmt_ms(r['median_ms'])} ms"
                                              for impl, r in python["impls"].items()))
                        measured["python"].append(python)
                        log(f"{name} {method}: xaiserve explain{tag}")
                        measured["xaiserve_cli"].append(measure_cli(ctx, model_dir, method, repeats, warmup, workdir))
                        log(f"    {fmt_ms(measured['xaiserve_cli'][-1]['median_ms'])} ms")
                        log(f"{name} {method}: REST{tag}")
                        measured["xaiserve_rest"].append(
                            measure_rest(ctx, server, name, model_dir, method, repeats, warmup, workdir))
                        log(f"    {fmt_ms(measured['xaiserve_rest'][-1]['median_ms'])} ms")
                        if row["points"]:
                            log(f"{name} {method}: floor{tag}")
                            measured["floor"].append(measure_floor(ctx, model_dir, method, repeats, warmup))
                            log(f"    {fmt_ms(measured['floor'][-1]['median_ms'])} ms")
                        if lean:
                            log(f"{name} {method}: lean IG{tag}")
                            measured["lean_ig"].append(measure_lean_ig(ctx, model_dir, repeats, warmup))
                            log(f"    {fmt_ms(measured['lean_ig'][-1]['median_ms'])} ms")
                    row["python"] = pool_python(measured["python"])
                    row["xaiserve_cli"] = pool(measured["xaiserve_cli"])
                    row["xaiserve_rest"] = pool(measured["xaiserve_rest"])
                    peak("python", row["python"]["peak_rss_mb"])
                    model_row["python_import_s"] = row["python"]["import_s"]
                    model_row["python_load_s"] = row["python"]["load_s"]
                    peak("xaiserve_explain", row["xaiserve_cli"]["peak_rss_mb"])
                    if row["points"]:
                        row["floor"] = pool(measured["floor"])
                        peak("floor", row["floor"]["peak_rss_mb"])
                        model_row["runtime_load_ms"] = row["floor"]["load_ms"]
                    if lean:
                        row["lean_ig"] = pool(measured["lean_ig"])
                    if method == "xrai":
                        log(f"{name} {method}: segmentation and selection")
                        results["xrai_phases"].append({
                            "model": name, "python": row["python"].pop("xrai_phases"),
                            "xaiserve": measure_xrai_phases(ctx, model_dir, repeats, workdir)})
                    results["explanations"].append(row)
                if small and "ig" in args.methods:
                    log(f"{name}: server throughput")
                    results["server_throughput"] += measure_throughput(
                        ctx, server, name, model_dir, args.throughput_seconds, workdir)
            finally:
                peak("xaiserve_serve", server.stop())
            results["models"].append(model_row)
    results["meta"]["machine"]["loadavg_end"] = loadavg()
    results["meta"]["seconds"] = time.perf_counter() - started
    summarize(results)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out_dir / "RESULTS.md").write_text(render_markdown(results))
    log(f"wrote {args.out_dir / 'RESULTS.md'} and results.json in {results['meta']['seconds']:.0f} s")
    for t in results["targets"]:
        check = f" (fastest rounds {fmt(t['fastest_rounds'], 2)})" if t.get("fastest_rounds") is not None else ""
        log(f"  {'met   ' if t['met'] else 'MISSED'} {t['target']} ({t['model']}): {fmt(t['value'], 2)}{check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
