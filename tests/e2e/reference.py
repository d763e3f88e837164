"""The Python side of the end-to-end tests: what TensorFlow itself says.

Holds the fixture SavedModels loaded in Python (TF2 models with
tf.saved_model.load, TF1 graphs with the tf.compat.v1 Session loader) and a
reference Integrated Gradients written once against them, using the same
trapezoid rule as xaiserve:

    alpha_j = j / n for j = 0..n, weights 1/n except 1/(2n) at both ends,
    attribution = (x - b) * sum_j w_j * grad f(b + alpha_j (x - b)).

Gradients come from TensorFlow (tf.GradientTape for TF2, tf.gradients for
TF1) and are accumulated in float64.

Also here, for the other attribution methods: the blur baseline (a
reflect-edged separable Gaussian), SmoothGrad samples, and exact Shapley
values by enumerating every permutation of a few features.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import math
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import tensorflow as tf

SERVE = tf.saved_model.SERVING


# --------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------


def batch(instances: Sequence[Any], dtype: tf.DType) -> np.ndarray:
    """Bare request instances -> one batch array ({"b64": ...} strings decoded)."""
    if dtype == tf.string:
        return np.array(
            [base64.b64decode(v["b64"]) if isinstance(v, dict) else v.encode() for v in instances],
            dtype=object,
        )
    return np.array(instances, dtype=dtype.as_numpy_dtype)


# --------------------------------------------------------------------------
# Differentiable targets: f restricted to one output element
# --------------------------------------------------------------------------


class Target(Protocol):
    """A model seen through one input tensor and one output tensor."""

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        """Output rows for a batch of input rows."""

    def gradients(self, inputs: np.ndarray, index: tuple[int, ...] | None) -> np.ndarray:
        """d output[row][index] / d input[row], for every row of the batch."""


class Tf2SignatureTarget:
    """One input and one output of a TF2 signature function."""

    def __init__(self, function, input_name: str, output_name: str):
        self._function = function
        self._input_name = input_name
        self._output_name = output_name

    def _call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._function(**{self._input_name: inputs})[self._output_name]

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        return self._call(tf.constant(inputs, tf.float32)).numpy()

    def gradients(self, inputs: np.ndarray, index: tuple[int, ...] | None) -> np.ndarray:
        points = tf.constant(inputs, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(points)
            selected = select(self._call(points), index)
        return tape.gradient(selected, points).numpy()


class Tf1TensorTarget:
    """Graph tensors of a TF1 session: feeds `input_tensor` directly (it may
    be internal, like dense_input:0 after a ParseExample)."""

    def __init__(self, model: Tf1Model, input_tensor: str, output_tensor: str):
        self._model = model
        self._input = model.graph.get_tensor_by_name(input_tensor)
        self._output = model.graph.get_tensor_by_name(output_tensor)
        self._gradient_ops: dict[tuple[int, ...] | None, tf.Tensor] = {}

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        return self._model.session.run(self._output, {self._input: inputs})

    def gradients(self, inputs: np.ndarray, index: tuple[int, ...] | None) -> np.ndarray:
        if index not in self._gradient_ops:
            with self._model.graph.as_default():
                [gradient] = tf.compat.v1.gradients(select(self._output, index), [self._input])
            self._gradient_ops[index] = gradient
        return self._model.session.run(self._gradient_ops[index], {self._input: inputs})


def select(outputs: tf.Tensor, index: tuple[int, ...] | None) -> tf.Tensor:
    """outputs[:, *index], summed over the batch (rows are independent, so the
    gradient of the sum is each row's own gradient)."""
    if index is not None:
        outputs = outputs[(slice(None), *index)]
    return tf.reduce_sum(outputs)


# --------------------------------------------------------------------------
# Integrated Gradients
# --------------------------------------------------------------------------


def trapezoid(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Path points alpha_j = j/n and their weights (1/n, 1/(2n) at both ends)."""
    alphas = np.arange(steps + 1, dtype=np.float64) / steps
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] = 0.5 / steps
    return alphas, weights


def approximation_error(attributions: np.ndarray, instance_output: float, baseline_output: float) -> float:
    """|sum(attributions) - (f(x) - f(b))| relative to f(x) - f(b), guarded."""
    difference = instance_output - baseline_output
    scale = max(abs(difference), 1e-6 * max(abs(instance_output), abs(baseline_output)), np.finfo(float).tiny)
    return abs(float(np.sum(attributions)) - difference) / scale


@dataclasses.dataclass
class Attribution:
    attributions: np.ndarray  # shaped like the instance
    instance_output: float  # f(x)
    baseline_output: float  # f(b), averaged over baselines
    output_index: tuple[int, ...] | None

    @property
    def approximation_error(self) -> float:
        return approximation_error(self.attributions, self.instance_output, self.baseline_output)


def argmax_index(row: np.ndarray) -> tuple[int, ...] | None:
    """xaiserve's default output element: the argmax of a vector output row."""
    if row.ndim == 0:
        return None
    return tuple(int(i) for i in np.unravel_index(np.argmax(row), row.shape))


def integrated_gradients(
    target: Target,
    instance: np.ndarray,
    baselines: Sequence[np.ndarray] | None = None,
    steps: int = 50,
    output_index: tuple[int, ...] | None | str = "argmax",
) -> Attribution:
    """IG of one instance, averaged over baselines (default: one zero baseline)."""
    x = np.asarray(instance, np.float32)
    if baselines is None:
        baselines = [np.zeros_like(x)]
    if output_index == "argmax":
        output_index = argmax_index(target.outputs(x[np.newaxis])[0])
    alphas, weights = trapezoid(steps)
    attributions, baseline_outputs = [], []
    for baseline in baselines:
        b = np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
        delta = x.astype(np.float64) - b
        points = (b + alphas.reshape((-1,) + (1,) * x.ndim) * delta).astype(np.float32)
        gradients = target.gradients(points, output_index).astype(np.float64)
        attributions.append(delta * np.tensordot(weights, gradients, axes=1))
        baseline_outputs.append(element(target.outputs(b[np.newaxis])[0], output_index))
    return Attribution(
        attributions=np.mean(attributions, axis=0),
        instance_output=element(target.outputs(x[np.newaxis])[0], output_index),
        baseline_output=float(np.mean(baseline_outputs)),
        output_index=output_index,
    )


def element(row: np.ndarray, index: tuple[int, ...] | None) -> float:
    return float(row if index is None else row[index])


# --------------------------------------------------------------------------
# Blur baseline and SmoothGrad
# --------------------------------------------------------------------------


def reflect_index(i: np.ndarray, size: int) -> np.ndarray:
    """Indices reflected about the pixel edges (d c b a | a b c d | d c b a),
    repeated with period 2 * size, so that any offset lands in [0, size)."""
    m = np.mod(i, 2 * size)
    return np.where(m < size, m, 2 * size - 1 - m)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """An [H, W] or [H, W, C] image blurred over H and W, each channel on its
    own: a normalized Gaussian kernel exp(-k^2 / (2 sigma^2)) for |k| <=
    ceil(3 sigma), edges reflected about the pixel edge (scipy.ndimage's
    mode='reflect'), in float64."""
    radius = math.ceil(3 * sigma)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    blurred = np.asarray(image, np.float64)
    for axis in (0, 1):
        size = blurred.shape[axis]
        positions = np.arange(size)[:, np.newaxis] + offsets[np.newaxis, :]  # [size, taps]
        gathered = np.take(blurred, reflect_index(positions, size), axis=axis)  # taps after axis
        blurred = np.tensordot(gathered, kernel, axes=([axis + 1], [0]))
    return blurred


def smoothgrad_samples(
    target: Target,
    instance: np.ndarray,
    sigma: float,
    count: int,
    rng: np.random.Generator,
    steps: int = 50,
    output_index: tuple[int, ...] | None = None,
) -> np.ndarray:
    """SmoothGrad over Integrated Gradients from a zero baseline, sample by
    sample: [count, *instance.shape], the IG of each noisy copy x + N(0,
    sigma^2) of the instance. Their mean estimates what xaiserve's SmoothGrad
    estimates with its own noise; their spread says how closely."""
    x = np.asarray(instance, np.float32)
    noisy = x + rng.normal(0.0, sigma, size=(count, *x.shape))
    return np.stack(
        [integrated_gradients(target, copy, None, steps, output_index).attributions for copy in noisy]
    )


# --------------------------------------------------------------------------
# Exact Shapley values
# --------------------------------------------------------------------------


def coalition_points(instance: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Every mix of a flat instance and baseline: row m takes feature i from
    the instance where bit i of m is set, from the baseline elsewhere."""
    x = np.asarray(instance, np.float64)
    b = np.broadcast_to(np.asarray(baseline, np.float64), x.shape)
    masks = (np.arange(2 ** x.size)[:, np.newaxis] >> np.arange(x.size)) & 1
    return np.where(masks == 1, x, b)


@dataclasses.dataclass
class ExactShapley:
    values: np.ndarray  # per feature: the mean marginal contribution over all permutations
    variances: np.ndarray  # per feature: the variance of that contribution over permutations

    def standard_error(self, paths: int) -> float:
        """The expected standard error of a mean over `paths` uniformly random
        permutations: sqrt(sum_i variance_i / paths)."""
        return math.sqrt(float(self.variances.sum()) / paths)


def exact_shapley(coalition_values: np.ndarray) -> ExactShapley:
    """Shapley values from the value of every coalition (indexed as in
    coalition_points), by walking all n! permutations."""
    n = int(round(math.log2(len(coalition_values))))
    assert len(coalition_values) == 2 ** n, "expected one value per coalition"
    contributions = []
    for order in itertools.permutations(range(n)):
        row, mask = np.zeros(n), 0
        for feature in order:
            row[feature] = coalition_values[mask | 1 << feature] - coalition_values[mask]
            mask |= 1 << feature
        contributions.append(row)
    contributions = np.array(contributions)
    return ExactShapley(values=contributions.mean(axis=0), variances=contributions.var(axis=0))


# --------------------------------------------------------------------------
# Loaded SavedModels
# --------------------------------------------------------------------------


class Tf2Model:
    """A TF2 SavedModel loaded with tf.saved_model.load (kept alive here, so
    its signature functions keep their variables)."""

    def __init__(self, path: Path):
        self.path = path
        self._loaded = tf.saved_model.load(str(path))

    def signature(self, key: str = "serving_default"):
        return self._loaded.signatures[key]

    def run(self, instances: Sequence[Any], key: str = "serving_default") -> dict[str, np.ndarray]:
        """Run a single-input signature on bare instances."""
        function = self.signature(key)
        [(name, spec)] = function.structured_input_signature[1].items()
        outputs = function(**{name: tf.constant(batch(instances, spec.dtype))})
        return {output: value.numpy() for output, value in outputs.items()}

    def target(self, key: str, input_name: str, output_name: str) -> Tf2SignatureTarget:
        return Tf2SignatureTarget(self.signature(key), input_name, output_name)


class Tf1Model:
    """A TF1 SavedModel loaded into its own graph and session."""

    def __init__(self, path: Path):
        self.path = path
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self.session, [SERVE], str(path))
        self.signature_defs = meta_graph.signature_def

    def run(self, instances: Sequence[Any], key: str = "serving_default") -> dict[str, np.ndarray]:
        """Run a single-input signature on bare instances, by tensor names."""
        signature_def = self.signature_defs[key]
        [info] = signature_def.inputs.values()
        feed = batch(instances, tf.dtypes.as_dtype(info.dtype))
        fetches = {name: output.name for name, output in signature_def.outputs.items()}
        return self.session.run(fetches, {info.name: feed})

    def run_tensor(self, tensor: str, instances: Sequence[Any], key: str = "serving_default") -> np.ndarray:
        """The value of any graph tensor when the signature is fed `instances`."""
        [info] = self.signature_defs[key].inputs.values()
        feed = batch(instances, tf.dtypes.as_dtype(info.dtype))
        return self.session.run(tensor, {info.name: feed})

    def target(self, input_tensor: str, output_tensor: str) -> Tf1TensorTarget:
        return Tf1TensorTarget(self, input_tensor, output_tensor)


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------


def assert_relatively_close(actual, expected, rel: float = 1e-4, floor: float = 1e-7, what: str = "") -> None:
    """max |actual - expected| <= rel * max |expected| + floor, shapes equal."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    worst = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    allowed = rel * float(np.max(np.abs(expected))) + floor
    assert worst <= allowed, (
        f"{what}: max |difference| {worst:.3g} > {allowed:.3g}\n"
        f"actual:   {np.array2string(actual.ravel()[:12], precision=6)}\n"
        f"expected: {np.array2string(expected.ravel()[:12], precision=6)}"
    )
