#!/usr/bin/env python3
"""What a user would otherwise run: one explanation method on a SavedModel in
Python TensorFlow, timed. bench/run.py starts one process per (model, method)
and reads the JSON object this prints on stdout; the implementations of the
method run one after the other in that process (importing TensorFlow takes
seconds, so not one process each).

    python_reference.py MODEL_DIR --method ig|smoothgrad|xrai|shapley
                        [--impl saliency,tape] [--repeats 5] [--warmup 0] [--steps 50] ...

The model is loaded as a user would (tf.saved_model.load, its serving_default
signature). Its only input is explained for its argmax output (computed by a
forward pass inside every timed explanation, as xaiserve does), from the
baseline in explanation_metadata.json (input_baselines[0]) or zeros, on the
first line of instances.jsonl. Implementations:

- saliency: PAIR's `saliency` package (saliency.core) with a
  call_model_function that takes the input gradient with tf.GradientTape;
  the whole path in one batch (batch_size = steps + 1). IG: GetMask with
  x_steps = steps + 1 (the same number of path points as xaiserve's
  trapezoid rule); SmoothGrad: GetSmoothedMask (magnitude off, stdev_spread
  chosen so the absolute sigma equals --noise-sigma); XRAI: GetMask with black
  and white baselines (0 and 1, xaiserve's default domain). For XRAI the
  segmentation (_get_segments_felzenszwalb) and the region selection
  (XRAI._xrai) are also timed on their own, on the same IG attributions,
  which --xrai-attributions-out saves for xaiserve_bench_xrai.
- tape: a batched tf.GradientTape IG written by hand (path points in runs of
  --batch-size rows, trapezoid weights), SmoothGrad as noisy copies of it.
- loop: Sampled Shapley as a plain Python loop over --paths random
  permutations, each evaluated with one batched forward pass of features + 1
  rows (baseline, then each feature switched to the instance in turn).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_start = time.perf_counter()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _start

IMPLEMENTATIONS = {
    "ig": ("saliency", "tape"),
    "smoothgrad": ("saliency", "tape"),
    "xrai": ("saliency",),
    "shapley": ("loop",),
}


class Model:
    """serving_default of a SavedModel, single input and single output."""

    def __init__(self, model_dir: Path):
        start = time.perf_counter()
        self.loaded = tf.saved_model.load(str(model_dir))
        self.function = self.loaded.signatures["serving_default"]
        self.load_seconds = time.perf_counter() - start
        [self.input_key] = list(self.function.structured_input_signature[1])
        [self.output_key] = list(self.function.structured_outputs)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return self.function(**{self.input_key: tf.constant(batch, tf.float32)})[self.output_key].numpy()

    def gradients(self, batch: np.ndarray, index: int) -> np.ndarray:
        x = tf.constant(batch, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            target = self.function(**{self.input_key: x})[self.output_key][:, index]
        return tape.gradient(target, x).numpy()

    def argmax(self, instance: np.ndarray) -> int:
        return int(np.argmax(self.forward(instance[np.newaxis])[0]))


def read_instance_and_baseline(model_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(model_dir / "instances.jsonl") as lines:
        instance = np.asarray(json.loads(lines.readline()), np.float32)
    baseline = np.zeros_like(instance)
    metadata_path = model_dir / "explanation_metadata.json"
    if metadata_path.exists():
        [entry] = json.loads(metadata_path.read_text())["inputs"].values()
        if entry.get("input_baselines"):
            baseline = np.broadcast_to(np.asarray(entry["input_baselines"][0], np.float32), instance.shape).copy()
    return instance, baseline


# --- hand-written batched GradientTape IG ---------------------------------------


def tape_integrated_gradients(model, paths, steps, batch_size, index):
    """paths: [(instance, baseline)]; the mean of their IG attributions."""
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2  # trapezoid rule
    points = np.concatenate([b + alphas.reshape((-1,) + (1,) * x.ndim) * (x - b) for x, b in paths])
    gradients = np.concatenate(
        [model.gradients(points[i : i + batch_size], index) for i in range(0, len(points), batch_size)]
    )
    total = np.zeros_like(paths[0][0])
    for p, (x, b) in enumerate(paths):
        path_gradients = gradients[p * (steps + 1) : (p + 1) * (steps + 1)]
        total += (x - b) * np.tensordot(weights, path_gradients, axes=1)
    return total / len(paths)


# --- PAIR saliency ---------------------------------------------------------------


def saliency_call_model_function(model, index):
    import saliency.core as saliency  # noqa: PLC0415

    def call_model_function(x_batch, call_model_args=None, expected_keys=None):
        return {saliency.INPUT_OUTPUT_GRADIENTS: model.gradients(np.asarray(x_batch, np.float32), index)}

    return call_model_function


# --- one explanation per method and implementation -------------------------------


def explain(args, model, instance, baseline, rng):
    """One explanation, the argmax forward pass included. Returns (attributions, extra)."""
    import saliency.core as saliency  # noqa: PLC0415

    index = model.argmax(instance)
    points = args.steps + 1
    if args.method == "shapley":
        flat_x, flat_b = instance.ravel(), baseline.ravel()
        n = flat_x.size
        total = np.zeros(n)
        for _ in range(args.paths):
            order = rng.permutation(n)
            rows = np.repeat(flat_b[np.newaxis], n + 1, axis=0)
            for k, feature in enumerate(order):
                rows[k + 1 :, feature] = flat_x[feature]
            outputs = model.forward(rows.reshape((n + 1,) + instance.shape))[:, index]
            total[order] += np.diff(outputs)
        return (total / args.paths).reshape(instance.shape), None
    if args.impl == "tape":
        if args.method == "ig":
            return tape_integrated_gradients(model, [(instance, baseline)], args.steps, args.batch_size, index), None
        noisy = [
            (instance + rng.normal(0, args.noise_sigma, instance.shape).astype(np.float32), baseline)
            for _ in range(args.noisy_samples)
        ]
        return tape_integrated_gradients(model, noisy, args.steps, args.batch_size, index), None
    call = saliency_call_model_function(model, index)
    if args.method == "ig":
        ig = saliency.IntegratedGradients()
        return ig.GetMask(instance, call, x_baseline=baseline, x_steps=points, batch_size=points), None
    if args.method == "smoothgrad":
        spread = float(np.max(instance) - np.min(instance)) or 1.0
        ig = saliency.IntegratedGradients()
        mask = ig.GetSmoothedMask(
            instance, call, stdev_spread=args.noise_sigma / spread, nsamples=args.noisy_samples,
            magnitude=False, x_baseline=baseline, x_steps=points, batch_size=points,
        )
        return mask, None
    xrai = saliency.XRAI()
    parameters = saliency.XRAIParameters(steps=points, return_ig_attributions=True)
    details = xrai.GetMaskWithDetails(
        instance, call, baselines=[np.zeros_like(instance), np.ones_like(instance)],
        batch_size=points, extra_parameters=parameters,
    )
    return details.attribution_mask, np.mean(details.ig_attribution, axis=0)


def time_xrai_phases(instance, attributions, repeats):
    """saliency's XRAI segmentation and selection alone, as GetMaskWithDetails calls them."""
    from saliency.core import xrai  # noqa: PLC0415

    segment, select = [], []
    attr = attributions.max(axis=-1) if attributions.ndim > 2 else attributions  # as saliency aggregates
    for _ in range(repeats):
        start = time.perf_counter()
        segments = xrai._get_segments_felzenszwalb(instance)
        segment.append(time.perf_counter() - start)
        start = time.perf_counter()
        xrai.XRAI._xrai(attr=attr, segs=segments, area_perc_th=1.0, min_pixel_diff=50)
        select.append(time.perf_counter() - start)
    totals = [a + b for a, b in zip(segment, select)]
    return {
        "segment_s": statistics.median(segment),
        "select_s": statistics.median(select),
        "median_s": statistics.median(totals),
        "times_s": totals,
        "regions": len(segments),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--method", choices=sorted(IMPLEMENTATIONS), required=True)
    parser.add_argument("--impl", help="comma-separated implementations (default: all of the method's)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=0, help="untimed runs after the first, before the timed ones")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--noisy-samples", type=int, default=3)
    parser.add_argument("--noise-sigma", type=float, default=0.1)
    parser.add_argument("--paths", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--xrai-phase-repeats", type=int, default=3)
    parser.add_argument("--xrai-attributions-out", type=Path)
    args = parser.parse_args(argv)
    args.impls = args.impl.split(",") if args.impl else list(IMPLEMENTATIONS[args.method])
    unknown = set(args.impls) - set(IMPLEMENTATIONS[args.method])
    if unknown:
        parser.error(f"--method {args.method} has implementations {IMPLEMENTATIONS[args.method]}, not {sorted(unknown)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    model = Model(args.model_dir)
    instance, baseline = read_instance_and_baseline(args.model_dir)
    result = {
        "model": str(args.model_dir),
        "method": args.method,
        "import_s": IMPORT_SECONDS,
        "load_s": model.load_seconds,
        "warmup": args.warmup,
        "impls": {},
    }
    for impl in args.impls:
        args.impl = impl
        rng = np.random.default_rng(0)
        np.random.seed(0)  # saliency's SmoothGrad draws from the global generator
        start = time.perf_counter()
        attributions, ig_attributions = explain(args, model, instance, baseline, rng)  # warm-up
        first = time.perf_counter() - start
        for _ in range(args.warmup):
            explain(args, model, instance, baseline, rng)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            explain(args, model, instance, baseline, rng)
            times.append(time.perf_counter() - start)
        result["impls"][impl] = {
            "first_s": first,
            "times_s": times,
            "median_s": statistics.median(times),
            "attribution_sum": float(np.sum(attributions)),
        }
        if args.method == "xrai":
            result["xrai_phases"] = time_xrai_phases(instance, ig_attributions, args.xrai_phase_repeats)
            if args.xrai_attributions_out:
                args.xrai_attributions_out.write_text(json.dumps(ig_attributions.astype(float).tolist()))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
