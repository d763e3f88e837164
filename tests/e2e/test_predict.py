"""`xaiserve predict` returns what TensorFlow in Python returns for the same
SavedModel and instances (TF2: tf.saved_model.load; TF1: the Session loader)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fixture_dir, instances_file, quadratic_terms, read_instances

PREDICT_FIXTURES = [
    "tabular_mlp",
    "cnn",
    "multi_with_xai",
    "preprocess_numeric",
    "preprocess_strings",
    "tf1_placeholder",
    "tf1_parse_example",
]


def predictions_of(lines: list[dict]) -> np.ndarray:
    """One {"predictions": [p]} line per instance -> the rows p stacked."""
    rows = []
    for line in lines:
        [row] = line["predictions"]
        rows.append(row)
    return np.array(rows, np.float64)


def assert_predictions_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", PREDICT_FIXTURES)
def test_predictions_match_tensorflow(name, xaiserve, tf_models):
    instances = read_instances(name)
    [expected] = tf_models[name].run(instances).values()  # each has one output

    lines = xaiserve.predict(name)

    assert len(lines) == len(instances)
    assert_predictions_equal(predictions_of(lines), expected)


def test_named_signature_predicts(xaiserve, tf_models):
    expected = tf_models["multi_no_xai"].run(read_instances("multi_no_xai"), key="logits_only")

    lines = xaiserve.predict("multi_no_xai", "--signature", "logits_only")

    assert_predictions_equal(predictions_of(lines), expected["logits"])


def test_default_signature_is_serving_default_not_xai_model(xaiserve, tf_models):
    """multi_with_xai: serving_default gives probabilities, xai_model logits."""
    instances = read_instances("multi_with_xai")
    probabilities = tf_models["multi_with_xai"].run(instances)["probabilities"]

    predicted = predictions_of(xaiserve.predict("multi_with_xai"))
    explained = predictions_of(xaiserve.explain("multi_with_xai"))

    assert_predictions_equal(predicted, probabilities)
    assert_predictions_equal(explained, probabilities)


def test_unknown_signature_is_refused_listing_the_keys(xaiserve):
    result = xaiserve.command("predict", "multi_no_xai", "--signature", "nope")

    result.expect_failure(phrases=["nope", "logits_only", "serving_default"])


def test_instances_from_stdin(xaiserve):
    """--instances - reads the JSON Lines from stdin."""
    text = instances_file("quadratic").read_text()

    result = xaiserve.run("predict", fixture_dir("quadratic"), "--instances", "-", stdin=text)

    result.expect_success()
    predicted = [line["predictions"][0] for line in result.json_lines()]
    expected = quadratic_terms(read_instances("quadratic")).sum(axis=1)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["tabular_mlp", "cnn", "multi_with_xai", "tf1_placeholder"])
def test_explain_reports_the_predictions_predict_gives(name, xaiserve):
    """:explain's "predictions" (read in the run that explains when the
    explaining signature also predicts, else from a run of their own) are
    `xaiserve predict`'s (which runs all instances as one batch, so oneDNN
    may round differently: to 1e-5)."""
    explained = xaiserve.explain(name)
    predicted = xaiserve.predict(name)
    assert len(explained) == len(predicted)
    for i, (e, p) in enumerate(zip(explained, predicted)):
        assert_predictions_equal(predictions_of([e]), predictions_of([p]))


def test_outputs_of_a_dtype_xaiserve_cannot_hold_are_left_out_not_the_model(xaiserve, tmp_path):
    """A complex64 or quint8 output made the whole model fail to load, with a
    message that named neither; now they are left out, said once at load,
    and the model's other outputs predict and explain."""
    import json

    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(x):
        return {"c": tf.complex(x, 2 * x), "q": tf.quantization.quantize(x, -1.0, 1.0, tf.quint8).output,
                "y": tf.sigmoid(tf.reduce_sum(x, axis=1, keepdims=True))}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text("[0.5, -0.25, 1.0]\n")

    predicted = xaiserve.run("predict", tmp_path / "model", "--instances", instances).expect_success()
    for output, dtype in (("c", "complex64"), ("q", "quint8")):
        assert f"note: signature 'serving_default' output '{output}' ({dtype}) is left out" in predicted.stderr
    [prediction] = json.loads(predicted.stdout)["predictions"]
    expected = float(tf.sigmoid(tf.constant(1.25)))
    assert prediction == pytest.approx([expected])  # the one output left: given bare
    explained = xaiserve.run("explain", tmp_path / "model", "--instances", instances).expect_success()
    [entry] = json.loads(explained.stdout)["explanations"][0]["attributions"]
    assert entry["outputName"] == "y" and entry["instanceOutputValue"] == pytest.approx(expected)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.complex64, name="z")])
    def complex_input(z):
        return {"y": tf.math.real(z)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "complex_input"), signatures={"serving_default": complex_input})
    xaiserve.run("inspect", tmp_path / "complex_input").expect_failure(
        phrases=["signature 'serving_default' input 'z'", "complex64"], json_stdout=False)


def test_an_output_that_is_not_batch_first_is_refused_not_read_past_its_end(xaiserve, tmp_path):
    """Predictions are read one row per instance: an output of shape [3] (a
    constant) was read past its end for the fourth instance on, which
    crashed the server (found by exploratory testing in session 19)."""
    import json

    import tensorflow as tf

    from conftest import running_server

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(x):
        return {"big": tf.range(3.0), "labels": tf.constant(["a", "b"]), "score": tf.reduce_sum(x, axis=1)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = [[1.0, 2.0]] * 8
    (tmp_path / "instances.jsonl").write_text("".join(json.dumps(i) + "\n" for i in instances))

    xaiserve.run("predict", tmp_path / "model", "--instances", tmp_path / "instances.jsonl").expect_failure(
        phrases=["output 'big' has shape [3] for a batch of 8 instances", "batch-first"])
    with running_server("--model", f"m={tmp_path / 'model'}", log_dir=tmp_path) as server:
        for count in (1, 8, 64):
            server.post("/v1/models/m:predict", {"instances": instances[:1] * count}).expect_error(
                400, phrases=[f"for a batch of {count} instances", "one row per instance"])
            server.post("/v1/models/m:predict", {"inputs": {"x": instances[:1] * count}}).expect_error(400)
        assert server.get("/healthz").expect(200) == {"status": "ok"}
