"""Which signature predicts and which explains (SPEC §1.1), as `xaiserve
inspect` reports it and as `explain` obeys it."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from conftest import fixture_dir, read_instances


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    signatures: tuple[str, ...]  # every key the SavedModel holds
    explains: tuple[str, ...]  # signatures that explain, in order; () when none can
    reason: tuple[str, ...] = ()  # phrases of the error when none can

    def __str__(self) -> str:
        return self.name


ONLY_SERVING = ("serving_default",)
PREPROCESS = ("serving_default", "xai_model", "xai_preprocess")

ROWS = [
    # exactly one signature: it predicts and explains
    Row("tabular_mlp", ONLY_SERVING, ("serving_default",)),
    Row("cnn", ONLY_SERVING, ("serving_default",)),
    Row("quadratic", ONLY_SERVING, ("serving_default",)),
    Row("tf1_placeholder", ONLY_SERVING, ("serving_default",)),
    Row("tf1_parse_example", ONLY_SERVING, ("serving_default",)),
    # ... unless its only input is not differentiable
    Row("int_input", ONLY_SERVING, (), ("ids", "int32")),
    # several signatures, one of them xai_model
    Row("multi_with_xai", ("other", "serving_default", "xai_model"), ("xai_model",)),
    # several signatures, no xai_model
    Row(
        "multi_no_xai",
        ("logits_only", "serving_default"),
        (),
        ("logits_only", "serving_default", "signatures={'serving_default': f, 'xai_model': g}"),
    ),
    # xai_preprocess feeds xai_model
    Row("preprocess_numeric", PREPROCESS, ("xai_preprocess", "xai_model")),
    Row("preprocess_strings", PREPROCESS, ("xai_preprocess", "xai_model")),
    # xai_preprocess without xai_model
    Row("preprocess_without_model", ("serving_default", "xai_preprocess"), (), ("xai_model",)),
    # xai_preprocess outputs that do not match the xai_model inputs
    Row(
        "preprocess_mismatch_name",
        PREPROCESS,
        (),
        ("xai_preprocess", "output", "feats", "xai_model", "input", "features"),
    ),
    Row(
        "preprocess_mismatch_dtype",
        PREPROCESS,
        (),
        ("xai_preprocess", "output", "float64", "xai_model", "input", "float32", "features"),
    ),
    Row(
        "preprocess_mismatch_shape",
        PREPROCESS,
        (),
        ("xai_preprocess", "output", "29", "xai_model", "input", "30", "features"),
    ),
]
UNEXPLAINABLE = [row for row in ROWS if not row.explains]


def reported_signatures(stdout: str, role: str, known: tuple[str, ...]) -> list[str]:
    """The signature keys that inspect's "<role> with: ..." line names (before
    the explanation of why), in order."""
    [line] = [line for line in stdout.splitlines() if line.strip().startswith(f"{role} with")]
    named = line.split(":", 1)[1].split("--")[0]
    return [word for word in re.findall(r"\w+", named) if word in known]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_inspect_reports_the_row(row, xaiserve):
    result = xaiserve.run("inspect", fixture_dir(row.name))

    for key in row.signatures:
        assert key in result.stdout, f"signature {key!r} not listed\n{result}"
    assert reported_signatures(result.stdout, "predicts", row.signatures) == ["serving_default"], str(result)
    assert reported_signatures(result.stdout, "explains", row.signatures) == list(row.explains), str(result)
    if row.explains:
        result.expect_success()
    else:
        result.expect_failure(exit_codes=[1], phrases=row.reason, json_stdout=False)


@pytest.mark.parametrize("row", UNEXPLAINABLE, ids=str)
def test_explain_fails_with_the_same_reason(row, xaiserve):
    result = xaiserve.command("explain", row.name)

    result.expect_failure(exit_codes=[1], phrases=row.reason)
    assert result.json_lines() == [], "no explanation may be written"


@pytest.mark.parametrize("row", UNEXPLAINABLE, ids=str)
def test_unexplainable_models_still_predict(row, xaiserve, tf_models):
    """Only explaining is refused: serving_default keeps predicting."""
    instances = read_instances(row.name)
    [expected] = tf_models[row.name].run(instances).values()

    lines = xaiserve.predict(row.name)

    predicted = np.array([line["predictions"][0] for line in lines])
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)


def test_inspect_shows_inputs_and_outputs_with_dtypes(xaiserve):
    result = xaiserve.run("inspect", fixture_dir("preprocess_mismatch_dtype"))

    for name in ("raw", "features", "probabilities", "float64", "float32"):
        assert name in result.stdout, f"{name!r} not shown\n{result}"


@pytest.mark.parametrize("name,promised,refused,method,refusal", [
    ("cnn", "integrated-gradients, xrai", "not sampled-shapley: an instance has 1024 features, more than the 1000",
     "sampled-shapley", "1024 features, more than the 1000 it takes"),
    ("tabular_mlp", "integrated-gradients, sampled-shapley", "not xrai, which takes an image input", "xrai",
     "expected an image of shape"),
])
def test_inspect_promises_only_the_methods_that_apply(xaiserve, tmp_path, name, promised, refused, method, refusal):
    """inspect said "integrated-gradients, sampled-shapley, xrai if its input is an image" of every model:
    of an image model, Sampled Shapley, which refuses more than 1000 features; of a tabular one, XRAI."""
    inspected = xaiserve.run("inspect", fixture_dir(name))

    ok_line = next(line for line in inspected.stdout.splitlines() if line.startswith("ok:"))
    assert f"({promised};" in ok_line and refused in ok_line, ok_line
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(read_instances(fixture_dir(name))[0]) + "\n")
    explained = xaiserve.run("explain", fixture_dir(name), "--instances", one, "--method", method)
    assert explained.returncode == 1 and refusal in explained.stderr, explained.stderr


TF1_EMPTY_KEYS_MODEL = """
import json
import sys
import tensorflow as tf
tf1 = tf.compat.v1
signature_key, input_keys, output_key = json.loads(sys.argv[2])
graph = tf.Graph()
with graph.as_default(), tf1.Session(graph=graph) as session:
    x1 = tf1.placeholder(tf.float32, [None, 3], name="x1")
    x2 = tf1.placeholder(tf.float32, [None, 2], name="x2")
    y = tf.identity(tf.reduce_sum(x1 * [1.0, 2.0, 3.0], axis=1, keepdims=True) -
                    tf.reduce_sum(x2 * [1.0, 1.0], axis=1, keepdims=True), name="y")
    builder = tf1.saved_model.Builder(sys.argv[1])
    signature = tf1.saved_model.predict_signature_def(dict(zip(input_keys, [x1, x2])), {output_key: y})
    builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={signature_key: signature})
    builder.save()
"""


def tf1_model_of_keys(path, signature_key: str, input_keys: tuple[str, str], output_key: str):
    """A TF1 SavedModel (tf.compat.v1.saved_model.Builder, which takes "" as a
    key) of y = x1 . [1, 2, 3] - sum(x2), under the given keys."""
    import json
    import os
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", TF1_EMPTY_KEYS_MODEL, str(path),
                    json.dumps([signature_key, input_keys, output_key])],
                   check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return path


def test_the_only_signature_predicts_and_explains_when_its_key_and_output_key_are_empty(xaiserve, tmp_path):
    """The key "": predict said "the model has no 'serving_default' signature;
    name one ... of: (none)", and `metadata` wrote "output_tensor_name": "",
    which `inspect --metadata` refused."""
    import json

    model = tf1_model_of_keys(tmp_path / "model", "", ("x", "z"), "")
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps({"x": [1.0, 1.0, 1.0], "z": [0.5, 0.5]}) + "\n")

    inspected = xaiserve.run("inspect", model).expect_success()
    assert "predicts with: ''  -- '' is the only signature" in inspected.stdout, inspected.stdout
    [predicted] = xaiserve.run("predict", model, "--instances", instances).expect_success().json_lines()
    assert predicted["predictions"] == [pytest.approx([5.0])]
    [explained] = xaiserve.run("explain", model, "--instances", instances).expect_success().json_lines()
    [entry] = explained["explanations"][0]["attributions"]
    assert entry["outputName"] == ""
    assert entry["featureAttributions"]["x"] == pytest.approx([1.0, 2.0, 3.0], rel=1e-5)
    assert entry["featureAttributions"]["z"] == pytest.approx([-0.5, -0.5], rel=1e-5)

    written = tmp_path / "metadata.json"
    xaiserve.run("metadata", model, "--output", written).expect_success()
    assert json.loads(written.read_text())["outputs"] == {"": {"output_tensor_name": "y:0"}}
    xaiserve.run("inspect", model, "--metadata", written).expect_success()


def test_an_empty_input_key_is_refused_for_explaining_at_load_and_still_predicts(xaiserve, tmp_path):
    """The input keyed "" was taken for a tensor inside the graph: inspect said
    "ok: the model can be explained", and explain failed with "x1:0 is both
    fed and fetched"."""
    import json

    model = tf1_model_of_keys(tmp_path / "model", "", ("", "_2"), "")
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps({"": [1.0, 1.0, 1.0], "_2": [0.5, 0.5]}) + "\n")
    reason = ["signature '' has an input whose key is empty ('', tensor x1:0)", "save the signature with a key"]

    xaiserve.run("inspect", model).expect_failure(exit_codes=[1], phrases=reason, json_stdout=False)
    xaiserve.run("explain", model, "--instances", instances).expect_failure(exit_codes=[1], phrases=reason)
    [predicted] = xaiserve.run("predict", model, "--instances", instances).expect_success().json_lines()
    assert predicted["predictions"] == [pytest.approx([5.0])]
