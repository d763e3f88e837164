"""Choosing the attribution method and its parameters on the command line:
which models each method can explain, the parameter ranges, --target-error,
--top-k -1 with Sampled Shapley, and the JSON shape of image attributions."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import (
    attribution_values,
    attributions_of,
    fixture_dir,
    instances_file,
    only_attribution,
    read_instances,
    relu_kink_ig,
    relu_kink_trapezoid,
    write_json,
)
from reference import approximation_error

SHAPLEY = ("--method", "sampled-shapley")
MAX_STEPS = 100
MAX_PATHS = 50

# --------------------------------------------------------------------------
# Which models each method explains
# --------------------------------------------------------------------------


def test_shapley_explains_a_model_without_gradients(xaiserve, tf_models):
    """no_gradient_op uses Cumprod, which has no C++ gradient: Sampled Shapley
    needs forward passes only."""
    responses = xaiserve.explain("no_gradient_op", *SHAPLEY)
    outputs = tf_models["no_gradient_op"].run(read_instances("no_gradient_op"))["y"][:, 0]

    assert len(responses) == len(outputs)
    for i, (response, fx) in enumerate(zip(responses, outputs)):
        entry = only_attribution(response)
        assert entry["instanceOutputValue"] == pytest.approx(float(fx), abs=1e-5), i
        difference = float(fx) - entry["baselineOutputValue"]
        assert attribution_values(entry).sum() == pytest.approx(difference, abs=1e-5), i


def test_integrated_gradients_name_the_op_without_gradient(xaiserve):
    result = xaiserve.command("explain", "no_gradient_op")
    result.expect_failure(phrases=["Cumprod", "sampled-shapley"])


def test_a_keras_lstm_is_explained_by_shapley_and_ig_names_the_loop(xaiserve, tf_models):
    """A Keras LSTM runs a While loop over TensorLists, which have no C++
    gradients: IG says so, and Sampled Shapley explains the predicted class
    with attributions summing to f(x) - f(0) (every permutation telescopes)."""
    xaiserve.command("explain", "keras_lstm").expect_failure(phrases=["LSTM", "sampled-shapley"])
    instances = read_instances("keras_lstm")
    outputs = tf_models["keras_lstm"].run(instances)["probabilities"]
    at_zero = tf_models["keras_lstm"].run(np.zeros_like(np.asarray(instances)).tolist())["probabilities"]
    responses = xaiserve.explain("keras_lstm", *SHAPLEY)
    assert len(responses) == len(outputs)
    for i, (response, row, zero_row) in enumerate(zip(responses, outputs, at_zero)):
        entry = only_attribution(response)
        [index] = entry["outputIndex"]
        assert index == int(np.argmax(row)), i
        assert attribution_values(entry).shape == (5, 3), i
        assert entry["instanceOutputValue"] == pytest.approx(float(row[index]), abs=1e-5), i
        assert entry["baselineOutputValue"] == pytest.approx(float(zero_row[index]), abs=1e-5), i
        assert attribution_values(entry).sum() == pytest.approx(float(row[index] - zero_row[index]), abs=1e-5), i


def test_the_same_lstm_unrolled_predicts_the_same_and_ig_explains_it(xaiserve):
    """The workaround the error names: LSTM(unroll=True) with the same weights
    is the same function, and has gradients (test_integrated_gradients checks
    its attributions against TensorFlow's)."""
    looped = xaiserve.command("predict", "keras_lstm").expect_success()
    unrolled = xaiserve.command("predict", "keras_lstm_unrolled").expect_success()
    for a, b in zip(looped.json_lines(), unrolled.json_lines()):
        np.testing.assert_allclose(a["predictions"], b["predictions"], rtol=1e-5, atol=1e-6)
    assert len(xaiserve.explain("keras_lstm_unrolled")) == len(read_instances("keras_lstm"))


def int_input_outputs(tf_models, ids) -> np.ndarray:
    return tf_models["int_input"].run(np.asarray(ids, np.int32).tolist())["probabilities"]


def assert_int_input_shapley(responses, tf_models, baseline) -> None:
    """Each response explains the predicted class; the attributions, one per
    id, sum to f(x) - f(baseline) with f from TensorFlow."""
    instances = read_instances("int_input")
    assert len(responses) == len(instances)
    outputs = int_input_outputs(tf_models, instances)
    baseline_outputs = int_input_outputs(tf_models, [baseline])[0]
    for i, (response, row) in enumerate(zip(responses, outputs)):
        entry = only_attribution(response)
        values = attribution_values(entry)
        [index] = entry["outputIndex"]
        assert index == int(np.argmax(row)), i
        assert values.shape == (5,), i
        assert entry["instanceOutputValue"] == pytest.approx(float(row[index]), abs=1e-5), i
        assert entry["baselineOutputValue"] == pytest.approx(float(baseline_outputs[index]), abs=1e-5), i
        assert values.sum() == pytest.approx(float(row[index] - baseline_outputs[index]), abs=1e-5), i


def int_input_metadata(tmp_path, baselines: list | None) -> str:
    """Metadata naming int_input's int32 input (inferred metadata covers
    floating-point inputs only, SPEC section 2)."""
    spec = {"input_tensor_name": "ids"}
    if baselines is not None:
        spec["input_baselines"] = baselines
    return write_json(
        tmp_path / "metadata.json",
        {"inputs": {"ids": spec}, "outputs": {"probabilities": {"output_tensor_name": "probabilities"}}},
    )


@pytest.mark.parametrize(
    "baselines, baseline",
    [(None, [0] * 5), ([[1, 1, 1, 1, 1]], [1] * 5), ([3], [3] * 5)],
    ids=["default zero baseline", "baseline row", "scalar baseline"],
)
def test_shapley_explains_integer_inputs(baselines, baseline, xaiserve, tf_models, tmp_path):
    """int_input takes int32 ids: not differentiable, but Sampled Shapley only
    runs the model, switching ids between the instance and the baseline
    (JSON numbers in the metadata, a scalar broadcast)."""
    metadata = int_input_metadata(tmp_path, baselines)
    result = xaiserve.command("explain", "int_input", *SHAPLEY, "--metadata", metadata)
    assert_int_input_shapley(result.expect_success().json_lines(), tf_models, baseline)


def test_integer_inputs_need_metadata_naming_them(xaiserve):
    """Without metadata nothing is inferred for an int32 input; the message
    says how to explain it."""
    result = xaiserve.command("explain", "int_input", *SHAPLEY)
    result.expect_failure(phrases=["int32", "Sampled Shapley"])


def test_the_metadata_command_makes_an_integer_inputs_template_for_shapley(xaiserve, tf_models, tmp_path):
    """Nothing is inferred for int_input's int32 input, but `xaiserve
    metadata` prints a template that names it, which Sampled Shapley explains
    from a zero baseline; stderr says which method it is for."""
    template = xaiserve.run("metadata", fixture_dir("int_input")).expect_success()
    assert "only --method sampled-shapley" in template.stderr
    assert json.loads(template.stdout)["inputs"]["ids"]["input_tensor_name"] == "ids"
    metadata = tmp_path / "template.json"
    metadata.write_text(template.stdout)
    result = xaiserve.command("explain", "int_input", *SHAPLEY, "--metadata", metadata)
    assert_int_input_shapley(result.expect_success().json_lines(), tf_models, [0] * 5)


def test_the_metadata_command_still_names_other_load_errors(xaiserve):
    """preprocess_mismatch_name has nothing bound for another reason (its
    xai_preprocess does not make xai_model's input): no template, that error."""
    xaiserve.run("metadata", fixture_dir("preprocess_mismatch_name")).expect_failure(
        phrases=["is not produced by 'xai_preprocess'"], json_stdout=False
    )


def test_integrated_gradients_refuse_integer_inputs(xaiserve):
    xaiserve.command("explain", "int_input").expect_failure(phrases=["int32"])


# --------------------------------------------------------------------------
# Parameter ranges
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value",
    [("--paths", 0), ("--paths", 51), ("--noisy-samples", 0), ("--noisy-samples", 51)],
)
def test_out_of_range_counts_are_rejected(flag, value, xaiserve):
    method = SHAPLEY if flag == "--paths" else ()
    result = xaiserve.command("explain", "linear", *method, flag, value)
    result.expect_failure(exit_codes=(2,), phrases=[flag, str(value), "[1, 50]"])
    assert result.stdout == ""


# --------------------------------------------------------------------------
# --target-error
# --------------------------------------------------------------------------


def doubling(start: int, maximum: int) -> list[int]:
    """start, 2 start, 4 start, ... and the maximum."""
    counts = [start]
    while counts[-1] < maximum:
        counts.append(min(2 * counts[-1], maximum))
    return counts


@pytest.mark.parametrize("target", [0.05, 0.001])
def test_target_error_raises_the_step_count(target, xaiserve):
    """relu_kink from 2 steps: the step count doubles until the completeness
    gap is <= the target, or reaches 100 (0.001 is out of reach there: the
    kink leaves 0.4% at 100 steps). The expected count and attributions
    follow from the trapezoid rule in closed form."""
    responses = xaiserve.explain("relu_kink", "--steps", 2, "--target-error", target)

    for i, (x, response) in enumerate(zip(read_instances("relu_kink"), responses)):
        entry = only_attribution(response)
        total = relu_kink_ig(x).sum()
        errors = {
            n: approximation_error(relu_kink_trapezoid(x, n), total, 0.0) for n in doubling(2, MAX_STEPS)
        }
        expected = next((n for n, error in errors.items() if error <= target), MAX_STEPS)
        print(f"relu_kink instance {i}, target {target}: stepCount {entry.get('stepCount')}, want {expected}")
        assert entry.get("stepCount") == expected, f"instance {i}: {entry}"
        assert entry["stepCount"] > 2 or errors[2] <= target
        assert entry["approximationError"] <= target or entry["stepCount"] == MAX_STEPS
        np.testing.assert_allclose(
            attribution_values(entry), relu_kink_trapezoid(x, expected), rtol=0, atol=1e-6, err_msg=str(i)
        )


def test_without_target_error_no_step_count_is_reported(xaiserve):
    for response in xaiserve.explain("relu_kink", "--steps", 2):
        assert "stepCount" not in only_attribution(response)


def test_target_error_raises_the_path_count(xaiserve):
    """Sampled Shapley on tabular_mlp (13 features, always sampled) from 4
    paths: the path count doubles (4, 8, 16, 32, 50) until the relative
    standard error is <= 0.1."""
    target = 0.1
    responses = xaiserve.explain("tabular_mlp", *SHAPLEY, "--paths", 4, "--target-error", target)

    counts = []
    for i, response in enumerate(responses):
        entry = only_attribution(response)
        assert entry.get("pathCount") in doubling(4, MAX_PATHS), f"instance {i}: {entry}"
        assert entry["approximationError"] <= target or entry["pathCount"] == MAX_PATHS, f"instance {i}"
        # The attributions are those of a plain run with that many paths.
        plain_responses = xaiserve.explain("tabular_mlp", *SHAPLEY, "--paths", entry["pathCount"])
        plain = only_attribution(plain_responses[i])
        np.testing.assert_allclose(attribution_values(entry), attribution_values(plain), rtol=0, atol=1e-9)
        assert entry["approximationError"] == pytest.approx(plain["approximationError"], rel=1e-9, abs=1e-12)
        counts.append(entry["pathCount"])
    print(f"tabular_mlp target {target}: pathCount {counts}")
    assert max(counts) > 4, "the target needs more than 4 paths somewhere"


# --------------------------------------------------------------------------
# Several outputs and image shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), SHAPLEY, ("--top-k", 2), (*SHAPLEY, "--top-k", 2)],
                         ids=["ig", "shapley", "ig-top-2", "shapley-top-2"])
def test_a_nan_output_element_ranks_below_every_number(flags, xaiserve, tmp_path):
    """Outputs [x0, NaN, 2 x0]: the top output is element 2 for every method.
    Sorting by '>' with a NaN present left the order unsorted, so Sampled
    Shapley explained element 0 and topK 2 took [0, 1] and then failed on
    the NaN, while IG (chosen by TensorFlow's ArgMax) took 2."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(x):
        nan = tf.fill(tf.shape(x[:, 1:]), float("nan"))
        return {"y": tf.concat([x[:, :1], tf.where(x[:, 1:] < 0, nan, x[:, 1:]), 2 * x[:, :1]], axis=1)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text("[1.0, -1.0]\n")
    result = xaiserve.run("explain", tmp_path / "model", "--instances", instances, *flags).expect_success()
    entries = json.loads(result.stdout)["explanations"][0]["attributions"]
    assert [entry["outputIndex"] for entry in entries] == [[2], [0]][: len(entries)]
    assert entries[0]["instanceOutputValue"] == 2.0
    # The NaN is in the predictions as null, and said, as predict says it.
    assert json.loads(result.stdout)["predictions"][0][1] is None
    assert "xaiserve explain: warning: instance 0: output 'y' holds nan, written as null" in result.stderr


def test_shapley_top_k_all_explains_every_output(xaiserve):
    """tabular_mlp's two softmax probabilities: --top-k -1 gives one entry
    per class, each summing to its own f(x) - f(b); as p0 = 1 - p1, every
    marginal contribution of class 0 is minus that of class 1."""
    for i, response in enumerate(xaiserve.explain("tabular_mlp", *SHAPLEY, "--top-k", -1)):
        entries = attributions_of(response)
        assert sorted(entry["outputIndex"][0] for entry in entries) == [0, 1], i
        for entry in entries:
            difference = entry["instanceOutputValue"] - entry["baselineOutputValue"]
            assert attribution_values(entry).sum() == pytest.approx(difference, abs=1e-5)
        first, second = (attribution_values(entry) for entry in entries)
        np.testing.assert_allclose(first, -second, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["integrated-gradients", "xrai"])
@pytest.mark.parametrize("model, shape", [("shapes_cnn", (32, 32, 3)), ("cnn", (32, 32, 1))])
def test_image_attributions_mirror_the_instance(model, shape, method, xaiserve):
    """A [32][32][C] image instance gets a [32][32][C] nested list of numbers."""
    for i, response in enumerate(xaiserve.explain(model, "--method", method, "--steps", 10)):
        values = only_attribution(response)["featureAttributions"]
        assert isinstance(values, list) and len(values) == shape[0], i
        assert all(isinstance(row, list) and len(row) == shape[1] for row in values), i
        pixels = [pixel for row in values for pixel in row]
        assert all(isinstance(pixel, list) and len(pixel) == shape[2] for pixel in pixels), i
        assert all(type(v) in (int, float) for pixel in pixels for v in pixel), i


# --------------------------------------------------------------------------
# Progress and per-instance timings
# --------------------------------------------------------------------------

PROGRESS = re.compile(r"^xaiserve explain: (\d+)/(\d+) instances \(([0-9.e+-]+) s\)$", re.M)


def test_progress_is_reported_at_a_human_rate_and_timings_keep_every_instance(xaiserve, tmp_path):
    """Many fast instances: progress on the first and the last (and at most
    every half second between), while --timings has every instance's time."""
    count = 300
    first = instances_file("quadratic").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((first + "\n") * count)
    timings = tmp_path / "timings.txt"
    result = xaiserve.command("explain", "quadratic", "--timings", timings, instances=instances).expect_success()

    assert len(result.json_lines()) == count
    progress = [(int(i), int(n)) for i, n, _ in PROGRESS.findall(result.stderr)]
    assert progress[0] == (1, count) and progress[-1] == (count, count), result
    assert len(progress) < count / 2, f"a progress line for most instances\n{result}"
    seconds = [float(line) for line in timings.read_text().splitlines()]
    assert len(seconds) == count
    assert all(0 < s < 60 for s in seconds), seconds[:10]


def test_timings_to_a_file_that_cannot_be_written_fail_before_explaining(xaiserve, tmp_path):
    result = xaiserve.command("explain", "quadratic", "--timings", tmp_path / "no" / "such" / "dir.txt")
    result.expect_failure(phrases=["--timings", "cannot write"])
    assert result.stdout == "", "explained before finding the timings file unwritable"
