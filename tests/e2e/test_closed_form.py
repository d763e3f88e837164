"""Attributions whose exact values are known in closed form or by
enumeration: `linear` (IG, Sampled Shapley and SmoothGrad), `relu_kink`
(IG across a kink), `quadratic` (additive, so Shapley is exact), and
`no_gradient_op` (y = sum(cumprod(x) * w), not additive: exact Shapley
values by walking all 4! permutations of its features)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import (
    RELU_KINK_SCALE,
    attribution_values,
    fixture_dir,
    only_attribution,
    quadratic_terms,
    read_instances,
    relu_kink_ig,
    relu_kink_trapezoid,
    running_server,
    write_json,
)
from reference import approximation_error, coalition_points, exact_shapley, trapezoid

VALUE_TOLERANCE = 1e-5

SHAPLEY = ("--method", "sampled-shapley")

# --------------------------------------------------------------------------
# linear: y = w.x + c, attributions w_i (x_i - b_i) for every method
# --------------------------------------------------------------------------

LINEAR_W = np.array([1.5, -2.0, 0.5, 3.0])
LINEAR_C = 0.25


def linear(x) -> float:
    return float(np.asarray(x, np.float64) @ LINEAR_W + LINEAR_C)


def linear_metadata(baselines: list[list[float]]) -> dict:
    return {
        "inputs": {"x": {"input_tensor_name": "x", "input_baselines": baselines}},
        "outputs": {"y": {"output_tensor_name": "y"}},
    }


LINEAR_METHODS = {
    "ig-1-step": ("--steps", 1),
    "ig-7-steps": ("--steps", 7),
    "ig-default": (),
    "shapley-1-path": (*SHAPLEY, "--paths", 1),
    "shapley-13-paths": (*SHAPLEY, "--paths", 13),
    "shapley-default": SHAPLEY,
}

LINEAR_BASELINES = {
    "one": [[0.5, -1.0, 2.0, 0.25]],
    "two averaged": [[0.5, -1.0, 2.0, 0.25], [-1.5, 3.0, 0.0, 1.0]],
}


def assert_linear_exact(
    response: dict, x, baseline_mean: np.ndarray, baseline_output: float, what: str, error_known: bool = True
):
    """error_known: False for one Shapley path, whose standard error cannot
    be estimated (xaiserve then reports a bound, not 0)."""
    entry = only_attribution(response)
    expected = LINEAR_W * (np.asarray(x, np.float64) - baseline_mean)
    np.testing.assert_allclose(
        attribution_values(entry), expected, rtol=0, atol=VALUE_TOLERANCE, err_msg=what
    )
    assert entry["instanceOutputValue"] == pytest.approx(linear(x), abs=VALUE_TOLERANCE), what
    assert entry["baselineOutputValue"] == pytest.approx(baseline_output, abs=VALUE_TOLERANCE), what
    if error_known:
        assert entry["approximationError"] < 1e-6, what
    assert entry["outputName"] == "y", what


@pytest.mark.parametrize("method", list(LINEAR_METHODS))
def test_linear_from_zero_baseline(method, xaiserve):
    instances = read_instances("linear")
    responses = xaiserve.explain("linear", *LINEAR_METHODS[method])

    assert len(responses) == len(instances)
    for i, (x, response) in enumerate(zip(instances, responses)):
        what = f"{method}, instance {i}"
        one_path = method == "shapley-1-path"
        assert_linear_exact(response, x, np.zeros(4), LINEAR_C, what, error_known=not one_path)


@pytest.mark.parametrize("baselines", list(LINEAR_BASELINES))
@pytest.mark.parametrize("method", ["ig-7-steps", "shapley-13-paths"])
def test_linear_from_metadata_baselines(method, baselines, xaiserve, tmp_path):
    """Several baselines are each explained and averaged: w (x - mean b), and
    f(b) averaged."""
    values = LINEAR_BASELINES[baselines]
    metadata = write_json(tmp_path / "metadata.json", linear_metadata(values))
    responses = xaiserve.explain("linear", *LINEAR_METHODS[method], "--metadata", metadata)

    mean = np.mean(values, axis=0)
    baseline_output = float(np.mean([linear(b) for b in values]))
    for i, (x, response) in enumerate(zip(read_instances("linear"), responses)):
        what = f"{method}, {baselines} baselines, instance {i}"
        assert_linear_exact(response, x, mean, baseline_output, what)


SMOOTHGRAD_SIGMA = 0.1
SMOOTHGRAD_SAMPLES = 50


def test_linear_smoothgrad_averages_the_noisy_copies(xaiserve):
    """SmoothGrad on a linear model: the attributions are w * (mean_s x_s - b),
    so attribution_i / w_i - x_i is the mean noise of feature i, a draw of
    N(0, sigma^2 / 50): it must be there (not all ~0) and of that size. The
    paths are integrated exactly, so the completeness gap against mean_s f(x_s)
    is ~0; against the noiseless f(x) it is w . (mean noise)."""
    responses = xaiserve.explain(
        "linear", "--noise-sigma", SMOOTHGRAD_SIGMA, "--noisy-samples", SMOOTHGRAD_SAMPLES
    )
    standard_error = SMOOTHGRAD_SIGMA / math.sqrt(SMOOTHGRAD_SAMPLES)

    for i, (x, response) in enumerate(zip(read_instances("linear"), responses)):
        entry = only_attribution(response)
        attributions = attribution_values(entry)
        z = (attributions / LINEAR_W - np.asarray(x)) / standard_error
        print(f"linear SmoothGrad instance {i}: mean noise / standard error = {np.round(z, 2)}")
        assert np.max(np.abs(z)) < 4.5, f"instance {i}: noise means too large for the sigma: {z}"
        assert np.sum(z**2) > 0.05, f"instance {i}: no noise was added: {z}"
        assert entry["instanceOutputValue"] == pytest.approx(linear(x), abs=VALUE_TOLERANCE)
        assert entry["baselineOutputValue"] == pytest.approx(LINEAR_C, abs=VALUE_TOLERANCE)
        assert entry["approximationError"] < 1e-6
        noisy_gap = attributions.sum() - (linear(x) - LINEAR_C)
        assert abs(noisy_gap) < 4.5 * standard_error * np.linalg.norm(LINEAR_W)


# --------------------------------------------------------------------------
# relu_kink: y = 2 relu(x0 - 1) + 3 relu(x1), IG across the kink
# --------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [5, 100])
def test_relu_kink_is_the_trapezoid_rule(steps, xaiserve):
    responses = xaiserve.explain("relu_kink", "--steps", steps)
    for i, (x, response) in enumerate(zip(read_instances("relu_kink"), responses)):
        entry = only_attribution(response)
        expected = relu_kink_trapezoid(x, steps)
        np.testing.assert_allclose(attribution_values(entry), expected, rtol=0, atol=1e-6, err_msg=str(i))
        assert entry["instanceOutputValue"] == pytest.approx(relu_kink_ig(x).sum(), abs=VALUE_TOLERANCE)
        assert entry["baselineOutputValue"] == pytest.approx(0.0, abs=VALUE_TOLERANCE)


def test_relu_kink_converges_to_the_closed_form(xaiserve):
    """Against the exact IG: each path crosses a kink once, so the error of n
    steps is at most one step's share, 2 max|x_i df/dx_i| / n, and 100 steps
    beat 5. The reported approximationError is the completeness gap against
    the exact total f(x) - f(0)."""
    instances = read_instances("relu_kink")
    errors = {}
    for steps in (5, 100):
        errors[steps] = []
        for i, (x, response) in enumerate(zip(instances, xaiserve.explain("relu_kink", "--steps", steps))):
            entry = only_attribution(response)
            attributions, exact = attribution_values(entry), relu_kink_ig(x)
            error = float(np.max(np.abs(attributions - exact)))
            bound = 2 * float(np.max(np.abs(np.asarray(x) * RELU_KINK_SCALE))) / steps
            assert error <= bound + 1e-6, f"{steps} steps, instance {i}: |IG - exact| {error} > {bound}"
            assert entry["approximationError"] == pytest.approx(
                approximation_error(attributions, exact.sum(), 0.0), rel=1e-6, abs=1e-9
            )
            errors[steps].append(error)
        print(f"relu_kink {steps} steps: max |IG - exact| per instance {np.round(errors[steps], 5)}")
    assert max(errors[100]) < 0.05
    assert sum(errors[100]) < sum(errors[5])


# --------------------------------------------------------------------------
# quadratic: additive, so every permutation gives the exact Shapley values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("paths", [1, 10])
def test_quadratic_shapley_is_exact(paths, xaiserve):
    """y = sum a_i x_i^2 + b_i x_i: a feature's marginal contribution is its
    own term whatever the order, so the Shapley value is a_i x_i^2 + b_i x_i
    and the paths do not scatter (standard error 0, once there are two paths
    to compare)."""
    responses = xaiserve.explain("quadratic", *SHAPLEY, "--paths", paths)
    for i, (x, response) in enumerate(zip(read_instances("quadratic"), responses)):
        entry = only_attribution(response)
        exact = quadratic_terms(x)
        np.testing.assert_allclose(
            attribution_values(entry), exact, rtol=0, atol=VALUE_TOLERANCE, err_msg=f"instance {i}"
        )
        assert entry["instanceOutputValue"] == pytest.approx(exact.sum(), abs=VALUE_TOLERANCE)
        if paths >= 2:
            assert entry["approximationError"] == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------
# no_gradient_op: not additive, exact Shapley values by enumeration
# --------------------------------------------------------------------------

# 4 features: every coalition (16 rows) costs no more than 4 or more paths
# (1 + 4 * paths rows), so xaiserve computes the exact values from there on;
# 3 paths are sampled.
SAMPLED_PATHS = 3


@pytest.fixture(scope="module")
def cumprod_shapley(tf_models):
    """Exact Shapley values of each no_gradient_op instance from the zero
    baseline, f evaluated by TensorFlow on all 2^4 coalitions."""
    model = tf_models["no_gradient_op"]
    exact = []
    for x in read_instances("no_gradient_op"):
        points = coalition_points(x, np.zeros(4))
        values = model.run(points.astype(np.float32).tolist())["y"][:, 0].astype(np.float64)
        exact.append((exact_shapley(values), float(values[-1]), float(values[0])))
    return exact


@pytest.mark.parametrize("paths", [4, 10, 50])
def test_cumprod_shapley_is_exact_where_every_coalition_is_cheaper(paths, xaiserve, cumprod_shapley):
    """From 4 paths on, the 16 coalitions cost fewer rows than the sampled
    permutations: the answer is the exact Shapley values, with an
    approximationError of 0."""
    responses = xaiserve.explain("no_gradient_op", *SHAPLEY, "--paths", paths)
    for i, (response, (exact, fx, fb)) in enumerate(zip(responses, cumprod_shapley)):
        entry = only_attribution(response)
        np.testing.assert_allclose(attribution_values(entry), exact.values, rtol=0, atol=VALUE_TOLERANCE,
                                   err_msg=f"instance {i}")
        assert entry["approximationError"] == 0.0
        assert entry["instanceOutputValue"] == pytest.approx(fx, abs=VALUE_TOLERANCE)
        assert entry["baselineOutputValue"] == pytest.approx(fb, abs=VALUE_TOLERANCE)


def test_cumprod_shapley_sampled_is_within_its_standard_error(xaiserve, cumprod_shapley):
    """With 3 paths (sampled), the estimate lands within 3 reported standard
    errors (approximationError * |f(x) - f(b)|, Euclidean over the features)
    of the exact values and sums to f(x) - f(b). (How well the standard
    error is calibrated is checked over 200 seeds in sampled_shapley_test.)"""
    responses = xaiserve.explain("no_gradient_op", *SHAPLEY, "--paths", SAMPLED_PATHS)
    sampled_somewhere = False
    for i, (response, (exact, fx, fb)) in enumerate(zip(responses, cumprod_shapley)):
        entry = only_attribution(response)
        attributions = attribution_values(entry)
        reported = entry["approximationError"] * abs(fx - fb)
        distance = float(np.linalg.norm(attributions - exact.values))
        print(f"no_gradient_op instance {i}: exact {np.round(exact.values, 3)}, "
              f"sampled {np.round(attributions, 3)}, |difference| {distance:.3f}, reported SE {reported:.3f}")
        assert entry["instanceOutputValue"] == pytest.approx(fx, abs=VALUE_TOLERANCE)
        assert entry["baselineOutputValue"] == pytest.approx(fb, abs=VALUE_TOLERANCE)
        assert attributions.sum() == pytest.approx(fx - fb, abs=VALUE_TOLERANCE)
        assert distance <= 3 * reported + VALUE_TOLERANCE, f"instance {i}: {distance} > 3 * standard error {reported}"
        sampled_somewhere |= distance > 1e-3
    assert sampled_somewhere, "3 paths are sampled, not exact"


def test_cumprod_shapley_is_reproducible(xaiserve):
    """Seeded: the same request gives the same answer, byte for byte."""
    flags = (*SHAPLEY, "--paths", 7)
    first, second = (xaiserve.command("explain", "no_gradient_op", *flags).expect_success() for _ in range(2))
    assert first.stdout == second.stdout


# --------------------------------------------------------------------------
# matrix_output: y = reshape(x W, [2, 3]), element k's IG is exactly W[:, k] x
# --------------------------------------------------------------------------

MATRIX_W = np.array([[i - k / 2 for k in range(6)] for i in range(4)])


def test_an_element_of_a_matrix_output_by_flat_index_or_all(xaiserve):
    """The CLI's --output-indices takes one flat (row-major) index; it used
    to be refused for an output of several dimensions, which then could not
    be explained element by element."""
    instances = np.array(read_instances("matrix_output"), np.float64)

    flat = xaiserve.explain("matrix_output", "--output-indices", "5")
    every = xaiserve.explain("matrix_output", "--top-k", "-1")

    for x, one, all_of_them in zip(instances, flat, every):
        entry = only_attribution(one)
        assert entry["outputIndex"] == [1, 2]
        np.testing.assert_allclose(attribution_values(entry), MATRIX_W[:, 5] * x, atol=VALUE_TOLERANCE)
        entries = all_of_them["explanations"][0]["attributions"]
        assert sorted(tuple(e["outputIndex"]) for e in entries) == [(r, c) for r in range(2) for c in range(3)]
        for e in entries:
            k = 3 * e["outputIndex"][0] + e["outputIndex"][1]
            np.testing.assert_allclose(attribution_values(e), MATRIX_W[:, k] * x, atol=VALUE_TOLERANCE)


def test_output_indices_outside_the_output_are_named(xaiserve):
    beyond = xaiserve.command("explain", "matrix_output", "--output-indices", "6")
    beyond.expect_failure(phrases=["outputIndices entry [6] is out of range", "shape [2,3]", "below 6"])
    scalar = xaiserve.command("explain", "linear", "--output-indices", "1")
    scalar.expect_failure(phrases=["a scalar output has the one element [0]", "leave outputIndices out"])


def test_a_list_of_coordinates_is_not_read_as_a_flat_index(tmp_path):
    """Over REST, outputIndices [5] is element 5 of the [2,3] output (row
    major, (1, 2)) and [[1, 2]] names it by coordinates; [[1]] names no one
    element and is refused (it was read as flat index 1, element (0, 1))."""
    x = read_instances("matrix_output")[0]
    with running_server("--model", f"m={fixture_dir('matrix_output')}", log_dir=tmp_path) as server:
        def explain(indices):
            return server.post("/v1/models/m:explain", {"instances": [x], "parameters": {"outputIndices": indices}})

        flat = explain([5]).expect(200)["explanations"][0]["attributions"][0]
        listed = explain([[1, 2]]).expect(200)["explanations"][0]["attributions"][0]
        assert flat["outputIndex"] == listed["outputIndex"] == [1, 2]
        np.testing.assert_allclose(attribution_values(flat), MATRIX_W[:, 5] * np.asarray(x), atol=VALUE_TOLERANCE)
        partial = explain([[1]]).expect(400)
        assert "has 1 coordinates but output" in partial["error"]["message"], partial
        assert "one flat index (a number, not a list)" in partial["error"]["message"], partial


def test_approximation_error_does_not_depend_on_the_output_s_units(xaiserve, tmp_path):
    """The same model with its output in units 1e8 times larger: the same
    relative completeness gap. The error's floor was 1e-6 in absolute terms,
    so on the small one it read 0.002 where the gap is 0.41."""
    import tensorflow as tf

    w = tf.constant([[3.0], [-2.0], [1.0]], tf.float64)
    for name, unit in (("plain", 1.0), ("small", 1e-8)):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float64, name="x")])
        def serve(x, unit=unit):
            return {"y": unit * tf.sigmoid(tf.matmul(x, w))}

        tf.saved_model.save(tf.Module(), str(tmp_path / name), signatures={"serving_default": serve})
    instances = write_json(tmp_path / "instances.jsonl", [1.0, -1.0, 0.5])
    errors = {}
    for name in ("plain", "small"):
        result = xaiserve.run("explain", tmp_path / name, "--instances", instances, "--steps", 1).expect_success()
        [entry] = json.loads(result.stdout)["explanations"][0]["attributions"]
        errors[name] = entry["approximationError"]
        assert "approximationError" in result.stderr and "is above 5%" in result.stderr, name
    assert errors["plain"] > 0.3
    assert errors["small"] == pytest.approx(errors["plain"], rel=1e-6)


# --------------------------------------------------------------------------
# key_passthrough: probabilities = softmax(x W), and a key row_id passed
# through beside them, so neither output depends on the other's input.
# --------------------------------------------------------------------------

KEY_PASSTHROUGH_W = np.array(  # the fixture's fixed weights
    [[1.0, -0.5, 0.25], [-1.5, 2.0, 0.5], [0.75, 0.25, -1.0], [0.5, -1.0, 1.5]]
)


def softmax_ig(x: np.ndarray, k: int, steps: int = 50) -> np.ndarray:
    """Trapezoid IG of softmax(x W)[k] from a zero baseline, by its analytic
    gradient W (p_k (e_k - p))."""
    total = np.zeros_like(x)
    for alpha, weight in zip(*trapezoid(steps)):
        logits = (alpha * x) @ KEY_PASSTHROUGH_W
        p = np.exp(logits - logits.max())
        p /= p.sum()
        total += weight * (KEY_PASSTHROUGH_W @ (p[k] * (np.eye(3)[k] - p)))
    return x * total


def test_an_input_that_does_not_reach_the_output_gets_zero(xaiserve):
    """A key column beside the scores used to stop every gradient method
    ("Cannot compute the partial derivative ... unreachable"), and inspect
    said the model could be explained with Sampled Shapley only."""
    inspected = xaiserve.run("inspect", fixture_dir("key_passthrough")).expect_success()
    assert "gradients: ok" in inspected.stdout, inspected.stdout
    assert "not xrai, which takes one image input" in inspected.stdout  # two inputs

    result = xaiserve.command("explain", "key_passthrough", "--output-name", "probabilities").expect_success()
    assert "gradient" not in result.stderr, result.stderr  # no note of an input without one: its 0 is exact
    for i, (instance, response) in enumerate(zip(read_instances("key_passthrough"), result.json_lines())):
        entry = only_attribution(response)
        attributions = entry["featureAttributions"]
        assert attributions["row_id"] == 0.0 and math.copysign(1, attributions["row_id"]) == 1, f"instance {i}"
        [k] = entry["outputIndex"]
        x = np.array(instance["x"], np.float64)
        assert np.allclose(attributions["x"], softmax_ig(x, k), rtol=1e-4, atol=1e-6), f"instance {i}"

    for i, (instance, response) in enumerate(zip(read_instances("key_passthrough"),
                                                 xaiserve.explain("key_passthrough", "--output-name", "row_id"))):
        attributions = only_attribution(response)["featureAttributions"]
        assert attributions["x"] == [0.0] * 4, f"instance {i}"
        assert attributions["row_id"] == pytest.approx(instance["row_id"], rel=1e-12), f"instance {i}"
