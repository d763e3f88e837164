#!/usr/bin/env python3
"""Can xaiserve take gradients of real Keras architectures? A manual check.

Usage:  .venv/bin/python scripts/check_keras_applications.py [NAME ...]

For each keras.applications model (random weights: nothing is downloaded; a
small input size), it exports the model as Keras 3 users export
(keras.export.ExportArchive, serving_default and xai_model), runs
`build/xaiserve explain` (Integrated Gradients, 50 steps, zero baseline) on
one random image, computes the same trapezoid-rule IG in Python with
tf.GradientTape on the reloaded SavedModel, and prints one line per model:
the ops it uses whose gradients xaiserve adds to TensorFlow's C++ registry
(src/runtime/tf_extra_gradients.cc), and the largest difference between the
two attributions relative to the largest attribution. Takes a few minutes;
not part of the test suite (the fixtures keras_activations, keras_conv3d and
keras_lstm are).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
XAISERVE = ROOT / "build" / "xaiserve"
STEPS = 50
ADDED_GRADIENTS = {"Erfc", "IdentityN", "EnsureShape", "Conv3D", "Conv3DBackpropInputV2"}

# name -> input side (each application's smallest accepted size, or about it).
APPLICATIONS = {
    "EfficientNetB0": 64,
    "EfficientNetV2B0": 64,
    "ConvNeXtTiny": 64,
    "MobileNetV2": 64,
    "MobileNetV3Small": 64,
    "ResNet50": 64,
    "ResNet50V2": 64,
    "DenseNet121": 64,
    "VGG16": 64,
    "Xception": 71,
    "InceptionV3": 75,
    "InceptionResNetV2": 75,
    "NASNetMobile": 224,
}


def export(name: str, side: int, path: Path) -> None:
    model = getattr(keras.applications, name)(weights=None, input_shape=(side, side, 3), classes=10)
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = [tf.TensorSpec([None, side, side, 3], tf.float32, name="image")]
    for key in ("serving_default", "xai_model"):
        archive.add_endpoint(
            name=key, fn=lambda x: {"probabilities": model(x, training=False)}, input_signature=spec
        )
    archive.write_out(str(path), verbose=False)


def added_ops_used(path: Path) -> list[str]:
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    return sorted(ops & ADDED_GRADIENTS)


def python_ig(path: Path, image: np.ndarray) -> np.ndarray:
    """Trapezoid-rule IG from a zero baseline for the top class, by tf.GradientTape."""
    loaded = tf.saved_model.load(str(path))  # keeps the variables the function reads alive
    function = loaded.signatures["xai_model"]
    top = int(np.argmax(function(image=tf.constant(image[None]))["probabilities"].numpy()[0]))
    alphas = np.linspace(0.0, 1.0, STEPS + 1, dtype=np.float32)
    weights = np.full(STEPS + 1, 1.0 / STEPS)
    weights[[0, -1]] = 0.5 / STEPS
    points = tf.constant(alphas[:, None, None, None] * image[None])
    with tf.GradientTape() as tape:
        tape.watch(points)
        chosen = function(image=points)["probabilities"][:, top]
    gradients = tape.gradient(chosen, points).numpy()
    return (gradients * weights[:, None, None, None]).sum(axis=0) * image


def check(name: str, side: int, workdir: Path) -> str:
    path = workdir / name
    export(name, side, path)
    image = np.random.default_rng(0).uniform(0, 255, (side, side, 3)).astype(np.float32)
    instances = workdir / f"{name}.jsonl"
    instances.write_text(json.dumps(image.tolist()) + "\n")
    run = subprocess.run(
        [str(XAISERVE), "explain", str(path), "--instances", str(instances), "--steps", str(STEPS)],
        capture_output=True,
        text=True,
    )
    ops = ", ".join(added_ops_used(path)) or "none"
    if run.returncode != 0:
        return f"{name:18} added gradients used: {ops:10} xaiserve FAILED: {run.stderr.strip().splitlines()[-1]}"
    attribution = json.loads(run.stdout)["explanations"][0]["attributions"][0]
    ours = np.asarray(attribution["featureAttributions"], np.float64)
    reference = python_ig(path, image)
    difference = np.abs(ours - reference).max() / max(np.abs(reference).max(), 1e-30)
    return f"{name:18} added gradients used: {ops:10} max |xaiserve - Python| / max |Python| = {difference:.1e}"


def main() -> int:
    names = sys.argv[1:] or list(APPLICATIONS)
    unknown = [n for n in names if n not in APPLICATIONS]
    if unknown:
        print(f"unknown application(s) {unknown}; choose from {list(APPLICATIONS)}", file=sys.stderr)
        return 2
    if not XAISERVE.exists():
        print(f"{XAISERVE} not found; run scripts/build.sh first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            print(check(name, APPLICATIONS[name], Path(workdir)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
