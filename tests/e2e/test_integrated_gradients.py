"""`xaiserve explain` computes the Integrated Gradients that a Python
implementation of the same trapezoid rule computes with TensorFlow's own
gradients on the same SavedModel (reference.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Callable

import numpy as np
import pytest

from conftest import LoadedModels, attributions_of, fixture_dir, quadratic_terms, read_instances
from reference import Attribution, approximation_error, assert_relatively_close, integrated_gradients

RELATIVE_TOLERANCE = 1e-4
VALUE_TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class Case:
    """How to explain one fixture in Python.

    `setup` returns the differentiable target and the instances as the target
    sees them (after any preprocessing), `baselines` the explanation
    baselines (None: zero), and `input_key` the key of featureAttributions
    (None: a bare nested list)."""

    setup: Callable[[LoadedModels, str], tuple]
    input_key: str | None = None
    baselines: Callable[[str], list[np.ndarray]] | None = None


def signature_input(key: str, input_name: str, output_name: str):
    """The instances are the signature input itself."""

    def setup(models: LoadedModels, name: str):
        target = models[name].target(key, input_name, output_name)
        return target, np.array(read_instances(name), np.float32)

    return setup


def preprocessed(models: LoadedModels, name: str):
    """xai_preprocess turns the instances into the features of xai_model."""
    model = models[name]
    features = model.run(read_instances(name), key="xai_preprocess")["features"]
    return model.target("xai_model", "features", "probabilities"), features


def tf1_graph_tensor(models: LoadedModels, name: str):
    """IG w.r.t. dense_input:0, whatever the signature is fed."""
    model = models[name]
    dense_input = model.run_tensor("dense_input:0", read_instances(name))
    return model.target("dense_input:0", "dense_2/Softmax:0"), dense_input


def metadata_baselines(name: str) -> list[np.ndarray]:
    metadata = json.loads((fixture_dir(name) / "explanation_metadata.json").read_text())
    [spec] = metadata["inputs"].values()
    return [np.array(b, np.float32) for b in spec["input_baselines"]]


CASES = {
    "tabular_mlp": Case(
        signature_input("serving_default", "features", "probabilities"), baselines=metadata_baselines
    ),
    "cnn": Case(signature_input("serving_default", "image", "probabilities")),
    "multi_with_xai": Case(signature_input("xai_model", "features", "logits")),
    "preprocess_numeric": Case(preprocessed, input_key="features"),
    "preprocess_strings": Case(preprocessed, input_key="features"),
    "tf1_placeholder": Case(tf1_graph_tensor),
    "tf1_parse_example": Case(tf1_graph_tensor, input_key="dense_input"),
    # Ops whose gradients xaiserve adds to TensorFlow's C++ registry (Erfc,
    # IdentityN of swish's custom gradient, EnsureShape, Conv3D, its transpose).
    "keras_activations": Case(signature_input("xai_model", "x", "probabilities")),
    "keras_conv3d": Case(signature_input("xai_model", "volume", "probabilities")),
    # Ops the input reaches only through its shape (Range, ResourceGather):
    # no gradient is needed of them, as in Python.
    "positional_embedding": Case(signature_input("serving_default", "x", "y")),
    # The workaround for recurrent layers (their loops have no C++ gradients).
    "keras_lstm_unrolled": Case(signature_input("xai_model", "sequence", "probabilities")),
}
OUTPUT_NAMES = {"multi_with_xai": "logits", "positional_embedding": "y"}  # the others explain "probabilities"


class References:
    """Reference attributions of each fixture instance, computed once per
    (fixture, steps, output index)."""

    def __init__(self, models: LoadedModels):
        self._models = models
        self._setups: dict[str, tuple] = {}
        self._cache: dict[tuple, list[Attribution]] = {}

    def outputs(self, name: str) -> np.ndarray:
        target, inputs = self._setup(name)
        return target.outputs(inputs)

    def __call__(self, name: str, steps: int = 50, output_index="argmax") -> list[Attribution]:
        key = (name, steps, output_index)
        if key not in self._cache:
            target, inputs = self._setup(name)
            case = CASES[name]
            baselines = case.baselines(name) if case.baselines else None
            self._cache[key] = [
                integrated_gradients(target, x, baselines, steps, output_index) for x in inputs
            ]
        return self._cache[key]

    def _setup(self, name: str) -> tuple:
        if name not in self._setups:
            self._setups[name] = CASES[name].setup(self._models, name)
        return self._setups[name]


@pytest.fixture(scope="module")
def reference(tf_models) -> References:
    return References(tf_models)


def feature_attributions(entry: dict, input_key: str | None) -> np.ndarray:
    values = entry["featureAttributions"]
    if input_key is not None:
        assert isinstance(values, dict) and list(values) == [input_key], (
            f"expected an object keyed by {input_key!r}, got {str(values)[:200]}"
        )
        values = values[input_key]
    else:
        assert isinstance(values, list), f"expected a bare nested list, got {type(values)}"
    return np.array(values, np.float64)


def only_attribution(response: dict) -> dict:
    [entry] = attributions_of(response)
    return entry


def assert_matches_reference(entry: dict, expected: Attribution, input_key: str | None, what: str) -> None:
    assert_relatively_close(
        feature_attributions(entry, input_key), expected.attributions, RELATIVE_TOLERANCE, what=what
    )
    if expected.output_index is not None:
        assert entry["outputIndex"] == list(expected.output_index), what


# --------------------------------------------------------------------------
# Every explainable fixture, default parameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_attributions_match_reference(name, xaiserve, reference):
    responses = xaiserve.explain(name)
    expected = reference(name)

    assert len(responses) == len(expected)
    for i, (response, ref) in enumerate(zip(responses, expected)):
        entry = only_attribution(response)
        assert_matches_reference(entry, ref, CASES[name].input_key, f"{name} instance {i}")
        assert entry["outputName"] == OUTPUT_NAMES.get(name, "probabilities")


@pytest.mark.parametrize("name", list(CASES))
def test_output_values_match_tensorflow(name, xaiserve, reference):
    for i, (response, ref) in enumerate(zip(xaiserve.explain(name), reference(name))):
        entry = only_attribution(response)
        assert entry["instanceOutputValue"] == pytest.approx(ref.instance_output, abs=VALUE_TOLERANCE), i
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=VALUE_TOLERANCE), i


@pytest.mark.parametrize("name", list(CASES))
def test_reported_error_is_the_completeness_gap(name, xaiserve):
    """approximationError = |sum(attr) - (f(x) - f(b))| / |f(x) - f(b)|, from
    the reported numbers themselves."""
    for response in xaiserve.explain(name):
        entry = only_attribution(response)
        gap = approximation_error(
            feature_attributions(entry, CASES[name].input_key),
            entry["instanceOutputValue"],
            entry["baselineOutputValue"],
        )
        assert entry["approximationError"] == pytest.approx(gap, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_completeness_holds_within_reported_error(name, xaiserve, reference):
    """sum(attributions) is f(x) - f(b), with f from TensorFlow in Python,
    up to the reported relative error."""
    for i, (response, ref) in enumerate(zip(xaiserve.explain(name), reference(name))):
        entry = only_attribution(response)
        total = feature_attributions(entry, CASES[name].input_key).sum()
        difference = ref.instance_output - ref.baseline_output
        allowed = entry["approximationError"] * abs(difference) + VALUE_TOLERANCE
        assert abs(total - difference) <= allowed, (
            f"{name} instance {i}: sum {total}, f(x) - f(b) = {difference}, "
            f"reported error {entry['approximationError']}"
        )


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 7, 100])
def test_step_count(steps, xaiserve, reference):
    responses = xaiserve.explain("tabular_mlp", "--steps", steps)

    for i, (response, ref) in enumerate(zip(responses, reference("tabular_mlp", steps=steps))):
        assert_matches_reference(only_attribution(response), ref, None, f"--steps {steps}, instance {i}")


def test_fewer_steps_leave_a_larger_error(xaiserve):
    """Sanity of the parametrization above: the step count is really used."""
    def errors(steps):
        responses = xaiserve.explain("tabular_mlp", "--steps", steps)
        return [only_attribution(r)["approximationError"] for r in responses]

    assert sum(errors(1)) > sum(errors(100))


@pytest.mark.parametrize("indices", [[0, 1], [1, 0]])
def test_output_indices_are_explained_in_request_order(indices, xaiserve, reference):
    responses = xaiserve.explain("tabular_mlp", "--output-indices", ",".join(map(str, indices)))

    for i, response in enumerate(responses):
        entries = attributions_of(response)
        assert [entry["outputIndex"] for entry in entries] == [[k] for k in indices]
        for entry, k in zip(entries, indices):
            ref = reference("tabular_mlp", output_index=(k,))[i]
            assert_matches_reference(entry, ref, None, f"instance {i}, output {k}")
            assert entry["instanceOutputValue"] == pytest.approx(ref.instance_output, abs=VALUE_TOLERANCE)


@pytest.mark.parametrize("top_k, count", [(2, 2), (-1, 10)])
def test_top_k_explains_the_largest_outputs(top_k, count, xaiserve, reference):
    """cnn has 10 classes: top-k 2 explains the two most probable, best
    first; -1 explains all of them."""
    responses = xaiserve.explain("cnn", "--top-k", top_k)
    probabilities = reference.outputs("cnn")

    for i, (response, row) in enumerate(zip(responses, probabilities)):
        entries = attributions_of(response)
        indices = [entry["outputIndex"][0] for entry in entries]
        assert len(indices) == count
        if top_k == -1:
            assert sorted(indices) == list(range(10))
        else:
            assert indices == list(np.argsort(-row)[:count])
        for entry, k in zip(entries, indices):
            ref = reference("cnn", output_index=(k,))[i]
            assert_matches_reference(entry, ref, None, f"instance {i}, output {k}")


@pytest.mark.parametrize("batch_size", [1, 7])
def test_batch_size_does_not_change_the_numbers(batch_size, xaiserve):
    default = xaiserve.explain("cnn")
    batched = xaiserve.explain("cnn", "--batch-size", batch_size)

    assert len(batched) == len(default)
    for ours, theirs in zip(batched, default):
        ours, theirs = only_attribution(ours), only_attribution(theirs)
        assert_relatively_close(
            feature_attributions(ours, None), feature_attributions(theirs, None), rel=1e-6, floor=1e-9,
            what=f"--batch-size {batch_size}",
        )
        for field in ("instanceOutputValue", "baselineOutputValue"):
            assert ours[field] == pytest.approx(theirs[field], rel=1e-6, abs=1e-9), field
        # A relative gap: float32 rounding that differs between batch shapes
        # moves it more than the numbers it is made of.
        assert ours["approximationError"] == pytest.approx(theirs["approximationError"], abs=1e-6)


@pytest.mark.parametrize("name", ["cnn", "tabular_mlp"])
@pytest.mark.parametrize("batch_size", [64, 1])
def test_the_top_output_chosen_in_the_path_run_is_the_argmax(name, batch_size, xaiserve, reference, tmp_path):
    """By default the explained output is picked inside the first path run
    (the instance as an extra last row, the runtime's argmax of it); naming the
    same output with --output-indices takes a forward run first instead. Both
    must explain the argmax of TensorFlow's own output, with the same numbers
    (to float32 rounding between batch shapes), with batches of 1 row too."""
    default = xaiserve.explain(name, "--batch-size", batch_size)
    probabilities = reference.outputs(name)

    assert len(default) == len(probabilities)
    for i, (response, row) in enumerate(zip(default, probabilities)):
        entry = only_attribution(response)
        top = int(np.argmax(row))
        assert entry["outputIndex"] == [top], f"instance {i}"
        one = tmp_path / f"instance-{i}.jsonl"
        one.write_text(json.dumps(read_instances(name)[i]) + "\n")
        [named] = xaiserve.explain(name, "--batch-size", batch_size, "--output-indices", top, instances=one)
        named = only_attribution(named)
        assert_relatively_close(feature_attributions(entry, None), feature_attributions(named, None), rel=1e-6,
                                floor=1e-9, what=f"{name} instance {i}")
        assert entry["instanceOutputValue"] == pytest.approx(float(row[top]), rel=1e-5, abs=1e-7)
        assert response["predictions"][0] == pytest.approx(row.tolist(), rel=1e-5, abs=1e-7)


# --------------------------------------------------------------------------
# Closed form
# --------------------------------------------------------------------------

def test_quadratic_attributions_are_exact(xaiserve):
    """y = sum a_i x_i^2 + b_i x_i from a zero baseline: the trapezoid rule
    integrates the linear gradient exactly, so attribution_i = a_i x_i^2 + b_i x_i."""
    instances = read_instances("quadratic")
    responses = xaiserve.explain("quadratic")

    assert len(responses) == len(instances)
    for x, response in zip(instances, responses):
        entry = only_attribution(response)
        exact = quadratic_terms(x)
        np.testing.assert_allclose(feature_attributions(entry, None), exact, rtol=0, atol=1e-5)
        assert entry["instanceOutputValue"] == pytest.approx(exact.sum(), abs=1e-5)
        assert entry["baselineOutputValue"] == pytest.approx(0.0, abs=1e-7)
        assert entry["approximationError"] < 1e-5
        assert entry["outputName"] == "y"
        assert "outputIndex" not in entry, "a scalar output has no outputIndex"
        assert response["predictions"] == [pytest.approx(exact.sum(), abs=1e-5)]


def test_quadratic_is_exact_with_one_step(xaiserve):
    """With one step the rule averages the gradients at both ends, still exact."""
    for x, response in zip(read_instances("quadratic"), xaiserve.explain("quadratic", "--steps", 1)):
        exact = quadratic_terms(x)
        actual = feature_attributions(only_attribution(response), None)
        np.testing.assert_allclose(actual, exact, rtol=0, atol=1e-5)
