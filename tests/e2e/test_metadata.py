"""Explanation metadata: inferred, given in either format and casing, with
several baselines, and refused when bad (SPEC §2)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from conftest import attributions_of, fixture_dir, read_instances, running_server
from reference import assert_relatively_close, integrated_gradients

MODEL = "multi_with_xai"  # xai_model: features f32[N,30] -> logits f32[N,2]; no metadata file


def training_means() -> list[float]:
    """The baseline tabular_mlp ships: its training means (raw features)."""
    metadata = json.loads((fixture_dir("tabular_mlp") / "explanation_metadata.json").read_text())
    [baseline] = metadata["inputs"]["features"]["input_baselines"]
    return baseline


def snake_case(*baselines) -> dict:
    return {
        "framework": "tensorflow",
        "inputs": {"features": {"input_tensor_name": "features", "input_baselines": list(baselines)}},
        "outputs": {"logits": {"output_tensor_name": "logits"}},
    }


def vertex(*baselines) -> dict:
    return {
        "inputs": {"features": {"inputTensorName": "features", "inputBaselines": list(baselines)}},
        "outputs": {"logits": {"outputTensorName": "logits"}},
    }


@pytest.fixture(scope="module")
def write_metadata(tmp_path_factory):
    """Writes a metadata dict (or raw text) to a file named `name`."""
    directory = tmp_path_factory.mktemp("metadata")

    def write(name: str, metadata: dict | str):
        path = directory / name
        path.write_text(metadata if isinstance(metadata, str) else json.dumps(metadata))
        return path

    return write


def explained(xaiserve, *flags) -> list[dict]:
    """The single attribution entry of each instance of MODEL."""
    entries = []
    for response in xaiserve.explain(MODEL, *flags):
        [entry] = attributions_of(response)
        entries.append(entry)
    return entries


def attributions(entries: list[dict]) -> np.ndarray:
    return np.array([entry["featureAttributions"] for entry in entries], np.float64)


# --------------------------------------------------------------------------
# Inferred metadata
# --------------------------------------------------------------------------


def test_inferred_metadata_of_the_explaining_signature(xaiserve):
    result = xaiserve.run("metadata", fixture_dir(MODEL)).expect_success()
    metadata = json.loads(result.stdout)

    assert list(metadata["inputs"]) == ["features"]
    features = metadata["inputs"]["features"]
    assert features["input_tensor_name"] == "features"
    baseline = np.array(features["input_baselines"], np.float64)
    assert baseline.size > 0 and not baseline.any(), "expected a zero baseline"
    assert list(metadata["outputs"]) == ["logits"]
    assert metadata["outputs"]["logits"]["output_tensor_name"] == "logits"


def test_metadata_in_the_model_directory_is_printed(xaiserve):
    result = xaiserve.run("metadata", fixture_dir("tabular_mlp")).expect_success()

    [baseline] = json.loads(result.stdout)["inputs"]["features"]["input_baselines"]
    np.testing.assert_allclose(baseline, training_means(), rtol=1e-7)


def test_written_inferred_metadata_round_trips(xaiserve, tmp_path):
    """`metadata --output FILE` writes what it prints; explaining with that
    file gives what explaining without it gives."""
    path = tmp_path / "inferred.json"
    xaiserve.run("metadata", fixture_dir(MODEL), "--output", path).expect_success()
    printed = xaiserve.run("metadata", fixture_dir(MODEL)).expect_success()

    assert json.loads(path.read_text()) == json.loads(printed.stdout)
    assert explained(xaiserve, "--metadata", path) == explained(xaiserve)
    # "-" is stdout, as --instances - is stdin; a version can be named.
    dashed = xaiserve.run("metadata", fixture_dir(MODEL), "--output", "-").expect_success()
    assert dashed.stdout == printed.stdout and not (tmp_path / "-").exists()
    versioned = xaiserve.run("metadata", fixture_dir(MODEL), "--version", "0").expect_success()
    assert versioned.stdout == printed.stdout
    missing = xaiserve.run("metadata", fixture_dir(MODEL), "--version", "7")
    assert missing.returncode == 1 and "version 7 requested" in missing.stderr, missing.stderr


CLASSIFIER = "classifier_with_names"  # x f32[N,4] -> scores f32[N,3], class_id i64[N], class_name(_bytes) string[N]


def test_a_classifier_s_ids_and_names_are_not_outputs_to_explain(xaiserve):
    """Inferred metadata lists the float output only, so inspect finds every
    gradient (the class id comes from an ArgMax, which has none)."""
    metadata = json.loads(xaiserve.run("metadata", fixture_dir(CLASSIFIER)).expect_success().stdout)
    inspected = xaiserve.run("inspect", fixture_dir(CLASSIFIER)).expect_success().stdout

    assert list(metadata["outputs"]) == ["scores"]
    assert "explains output 'scores'" in inspected
    assert "class_id" not in inspected.split("metadata:")[1]
    assert "gradients: ok" in inspected


def test_a_classifier_explains_its_scores_without_being_told(xaiserve, tf_models):
    """The same as naming the output; IG as TensorFlow computes it; the
    predictions still carry the class ids and names."""
    responses = xaiserve.explain(CLASSIFIER)
    assert responses == xaiserve.explain(CLASSIFIER, "--output-name", "scores")

    target = tf_models[CLASSIFIER].target("serving_default", "x", "scores")
    expected_predictions = tf_models[CLASSIFIER].run(read_instances(CLASSIFIER))
    for row, (instance, response) in enumerate(zip(read_instances(CLASSIFIER), responses)):
        [entry] = attributions_of(response)
        reference = integrated_gradients(target, np.array(instance))
        assert entry["outputName"] == "scores"
        assert tuple(entry["outputIndex"]) == reference.output_index
        assert_relatively_close(entry["featureAttributions"], reference.attributions, 1e-5)
        [prediction] = response["predictions"]
        assert prediction["class_name"] == expected_predictions["class_name"][row].decode()
        # TF Serving's rule: an output named *_bytes is binary, written as b64 even when it is text.
        assert prediction["class_name_bytes"] == {"b64": base64.b64encode(expected_predictions["class_name"][row]).decode()}
        assert prediction["class_id"] == expected_predictions["class_id"][row]


def test_metadata_naming_a_string_output_is_refused(xaiserve, write_metadata):
    metadata = write_metadata("string_output.json", {
        "inputs": {"x": {"input_tensor_name": "x"}},
        "outputs": {"name": {"output_tensor_name": "class_name"}},
    })

    result = xaiserve.run("inspect", fixture_dir(CLASSIFIER), "--metadata", metadata)

    result.expect_failure(phrases=["outputs.name.output_tensor_name", "a string, which no method can explain",
                                   "numeric output"], json_stdout=False)


# --------------------------------------------------------------------------
# Display names read from the prediction (Vertex's displayNameMappingKey)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def named_classifier(tmp_path_factory):
    """x f32[N,2] -> probs = softmax(x W) f32[N,3], and names string[N,3]
    (the class names, per instance, reversed when x[0] < 0): display names
    that depend on the instance, as only the prediction can give them."""
    import tensorflow as tf

    directory = tmp_path_factory.mktemp("named_classifier")
    w = tf.constant([[1.0, -1.0, 0.5], [0.25, 2.0, -1.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(x):
        names = tf.constant([["ant", "bee", "cat"]])
        names = tf.where(x[:, :1] < 0, tf.reverse(names, axis=[1]), names)
        return {"probs": tf.nn.softmax(tf.matmul(x, w)), "names": names,
                "short": tf.tile(names[:, :2], [1, 1])}

    tf.saved_model.save(tf.Module(), str(directory / "model"), signatures={"serving_default": serve})
    instances = [[1.0, 2.0], [-1.5, 0.5]]
    (directory / "instances.jsonl").write_text("".join(json.dumps(x) + "\n" for x in instances))
    probs = tf.nn.softmax(tf.matmul(tf.constant(instances), w)).numpy()
    names = [["ant", "bee", "cat"], ["cat", "bee", "ant"]]
    return directory, probs, names


def mapping_metadata(key: str) -> dict:
    return {"inputs": {"x": {"inputTensorName": "x"}},
            "outputs": {"probs": {"outputTensorName": "probs", "displayNameMappingKey": key}}}


def test_display_names_come_from_the_prediction_field_the_metadata_names(xaiserve, named_classifier, write_metadata):
    directory, probs, names = named_classifier
    metadata = write_metadata("mapping_key.json", mapping_metadata("names"))
    cli = [json.loads(line) for line in xaiserve.run(
        "explain", directory / "model", "--instances", directory / "instances.jsonl", "--metadata", metadata,
        "--top-k", 3).expect_success().stdout.splitlines()]

    for row, response in enumerate(cli):
        entries = attributions_of(response)
        assert [e["outputIndex"] for e in entries] == [[int(i)] for i in np.argsort(-probs[row])]
        assert [e["outputDisplayName"] for e in entries] == [names[row][e["outputIndex"][0]] for e in entries]

    with running_server("--model", f"m={directory / 'model'}", log_dir=directory) as server:
        # Over REST, the same names; the metadata comes with the request here.
        body = {"instances": [json.loads(line) for line in (directory / "instances.jsonl").read_text().splitlines()],
                "explanationSpecOverride": {"parameters": {"topK": 3}}}
        plain = server.post("/v1/models/m:explain", body).expect(200)
        assert all("outputDisplayName" not in e for r in plain["explanations"] for e in r["attributions"])
    (directory / "model" / "explanation_metadata.json").write_text(json.dumps(mapping_metadata("names")))
    try:
        with running_server("--model", f"m={directory / 'model'}", log_dir=directory) as server:
            rest = server.post("/v1/models/m:explain", body).expect(200)
    finally:
        (directory / "model" / "explanation_metadata.json").unlink()
    assert [r["attributions"] for r in rest["explanations"]] == [attributions_of(r) for r in cli]


def test_predict_over_rest_writes_a_bytes_output_as_b64_in_rows_and_columns(tmp_path, tf_models):
    """TF Serving's rule for an output named *_bytes, in both of :predict's forms;
    the other string output stays text."""
    instances = read_instances(CLASSIFIER)
    names = tf_models[CLASSIFIER].run(instances)["class_name"]
    as_b64 = [{"b64": base64.b64encode(name).decode()} for name in names]
    with running_server("--model", f"c={fixture_dir(CLASSIFIER)}", log_dir=tmp_path) as server:
        rows = server.post("/v1/models/c:predict", {"instances": instances}).expect(200)["predictions"]
        columns = server.post("/v1/models/c:predict", {"inputs": instances}).expect(200)["outputs"]

    assert [row["class_name_bytes"] for row in rows] == as_b64
    assert [row["class_name"] for row in rows] == [name.decode() for name in names]
    assert columns["class_name_bytes"] == as_b64
    assert columns["class_name"] == [name.decode() for name in names]


def test_a_display_name_mapping_key_that_is_not_a_prediction_field_is_refused(
        xaiserve, named_classifier, write_metadata):
    directory, _, _ = named_classifier
    metadata = write_metadata("missing_key.json", mapping_metadata("labels"))
    xaiserve.run("inspect", directory / "model", "--metadata", metadata).expect_failure(
        phrases=["outputs.probs.index_name_mapping_key is 'labels'", "not an output of the predict signature",
                 "names, probs, short"], json_stdout=False)


def test_display_names_of_another_shape_than_the_output_are_refused(xaiserve, named_classifier, write_metadata):
    directory, _, _ = named_classifier
    metadata = write_metadata("short_key.json", mapping_metadata("short"))
    result = xaiserve.run("explain", directory / "model", "--instances", directory / "instances.jsonl",
                          "--metadata", metadata, "--top-k", 3)
    result.expect_failure(phrases=["'short' has shape [2] per instance", "index [2]",
                                   "must have the explained output's shape"], json_stdout=False)


# --------------------------------------------------------------------------
# Given metadata
# --------------------------------------------------------------------------


def matrix_output_metadata(names) -> dict:
    """Metadata for the `matrix_output` fixture (input x [4], output y [2, 3] per instance)."""
    return {"inputs": {"x": {"input_tensor_name": "x"}},
            "outputs": {"y": {"output_tensor_name": "y", "indexDisplayNameMapping": names}}}


def test_vertex_s_nested_display_names_name_each_element_of_a_matrix_output(xaiserve, write_metadata):
    """Vertex gives a matrix output's names as an n-dimensional list; it was refused as not a list of names."""
    nested = write_metadata("nested.json", matrix_output_metadata([["a", "b", "c"], ["d", "e", "f"]]))
    flat = write_metadata("flat.json", matrix_output_metadata(["a", "b", "c", "d", "e", "f"]))

    for metadata in (nested, flat):
        [response, *_] = xaiserve.command("explain", "matrix_output", "--metadata", metadata, "--top-k", 6).json_lines()
        entries = attributions_of(response)
        assert len(entries) == 6
        for entry in entries:
            row, column = entry["outputIndex"]
            assert entry["outputDisplayName"] == "abcdef"[3 * row + column], entry["outputIndex"]


@pytest.mark.parametrize("names,phrases", [
    (["malignant"], ["index_name_mapping gives 1 name", "output 'logits' has 2 elements per instance",
                     "one display name per element"]),
    (["a", "b", "c"], ["gives 3 names", "has 2 elements"]),
])
def test_display_names_one_short_or_over_are_refused_at_load(xaiserve, write_metadata, names, phrases):
    """A class list one short left the last class without outputDisplayName, silently."""
    metadata = {"inputs": {"features": {"input_tensor_name": "features"}},
                "outputs": {"logits": {"output_tensor_name": "logits", "index_name_mapping": names}}}
    result = xaiserve.command("explain", MODEL, "--metadata", write_metadata("names.json", metadata))
    result.expect_failure(exit_codes=[1, 2], phrases=phrases)


def test_nested_display_names_shaped_unlike_the_output_are_refused(xaiserve, write_metadata):
    transposed = write_metadata("transposed.json", matrix_output_metadata([["a", "b"], ["c", "d"], ["e", "f"]]))
    result = xaiserve.command("explain", "matrix_output", "--metadata", transposed)
    result.expect_failure(exit_codes=[1, 2], phrases=["nested as [3,2]", "nest it as [2,3]", "flat list"])




def test_vertex_camel_case_equals_snake_case(xaiserve, write_metadata, tf_models):
    snake = explained(xaiserve, "--metadata", write_metadata("snake.json", snake_case(training_means())))
    camel = explained(xaiserve, "--metadata", write_metadata("vertex.json", vertex(training_means())))

    np.testing.assert_allclose(attributions(camel), attributions(snake), rtol=1e-12)
    # ... and both use the given baseline.
    target = tf_models[MODEL].target("xai_model", "features", "logits")
    baseline = np.array(training_means(), np.float32)
    for i, (x, entry) in enumerate(zip(read_instances(MODEL), snake)):
        ref = integrated_gradients(target, np.array(x, np.float32), [baseline])
        assert_relatively_close(entry["featureAttributions"], ref.attributions, what=f"instance {i}")
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=1e-5)


def test_two_baselines_average_the_single_baseline_attributions(xaiserve, write_metadata):
    first = training_means()
    second = [0.5 * v for v in first]

    one = explained(xaiserve, "--metadata", write_metadata("snake.json", snake_case(first)))
    other = explained(xaiserve, "--metadata", write_metadata("half.json", snake_case(second)))
    both = explained(xaiserve, "--metadata", write_metadata("both.json", snake_case(first, second)))

    average = (attributions(one) + attributions(other)) / 2
    assert_relatively_close(attributions(both), average, rel=1e-6, what="two baselines")
    assert not np.allclose(attributions(one), attributions(other)), "baselines too alike to tell"
    for a, b, ab in zip(one, other, both):
        expected = (a["baselineOutputValue"] + b["baselineOutputValue"]) / 2
        assert ab["baselineOutputValue"] == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------
# What Google's protobuf JSON printer (json_format.MessageToJson, which the
# cloud's client libraries use) writes for Vertex metadata of an image in
# [0, 1]: proto3 leaves out the bound at its default, minValue 0.0.
PRINTED_IMAGE_METADATA = """{
  "inputs": {
    "image": {
      "inputTensorName": "image",
      "modality": "image",
      "featureValueDomain": {
        "maxValue": 1.0
      },
      "visualization": {
        "type": "PIXELS",
        "polarity": "POSITIVE",
        "colorMap": "VIRIDIS",
        "overlayType": "GRAYSCALE"
      }
    }
  },
  "outputs": {
    "probabilities": {
      "indexDisplayNameMapping": [
        "cross",
        "square"
      ],
      "outputTensorName": "probabilities"
    }
  }
}"""


def test_a_vertex_domain_bound_left_out_is_zero(xaiserve, write_metadata):
    """XRAI's black image is the domain's min: the printed metadata explains
    as shapes_cnn's own, whose AI Platform `domain` is [0, 1]."""
    path = write_metadata("printed_image.json", PRINTED_IMAGE_METADATA)
    flags = ("--method", "xrai", "--steps", "10")

    assert xaiserve.explain("shapes_cnn", "--metadata", path, *flags) == xaiserve.explain("shapes_cnn", *flags)


# Bad metadata
# --------------------------------------------------------------------------

def quadratic_metadata(**input_fields) -> dict:
    """Metadata for the `quadratic` fixture (input x, output y)."""
    return {
        "inputs": {"x": {"input_tensor_name": "x", **input_fields}},
        "outputs": {"y": {"output_tensor_name": "y"}},
    }


# case -> (metadata or raw text, phrases the error must contain)
BAD_METADATA = {
    "too_many_baselines": (
        quadratic_metadata(input_baselines=[[0.0, 0.0, 0.0]] * 11),
        ["input_baselines", "10"],
    ),
    "unknown_field": (quadratic_metadata(frobnicate=1), ["frobnicate"]),
    "tensor_not_in_graph": (
        quadratic_metadata(input_tensor_name="no_such_tensor:0"),
        ["input_tensor_name", "no_such_tensor:0"],
    ),
    "invalid_json": ('{"inputs": {"x": ', ["invalid_json.json"]),
    "empty_domain": (quadratic_metadata(domain={"min": 1.0, "max": 1.0}), ["domain", "min", "max"]),
}


@pytest.mark.parametrize("case", list(BAD_METADATA))
def test_bad_metadata_is_refused_naming_the_field(case, xaiserve, write_metadata):
    metadata, phrases = BAD_METADATA[case]
    path = write_metadata(f"{case}.json", metadata)

    result = xaiserve.command("explain", "quadratic", "--metadata", path)

    result.expect_failure(exit_codes=[1, 2], phrases=phrases)
    assert result.json_lines() == []


def test_bad_metadata_beside_the_model_is_refused_at_load(xaiserve, tmp_path):
    """A model directory whose explanation_metadata.json is bad."""
    model = tmp_path / "model"
    model.mkdir()
    for part in ("saved_model.pb", "variables"):
        (model / part).symlink_to(fixture_dir("quadratic") / part)
    metadata, phrases = BAD_METADATA["unknown_field"]
    (model / "explanation_metadata.json").write_text(json.dumps(metadata))

    result = xaiserve.run("inspect", model)

    result.expect_failure(phrases=phrases, json_stdout=False)


def test_xrai_says_it_does_not_use_the_metadata_s_baselines(xaiserve, tmp_path):
    """XRAI starts from black and white; baselines in the metadata went
    unused without a word. inspect notes it, explain --method xrai warns;
    IG, which uses them, does not; nor does the default zero baseline of
    inferred metadata."""
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({
        "inputs": {"image": {"input_tensor_name": "image", "input_baselines": [0.5]}},
        "outputs": {"probabilities": {"output_tensor_name": "probabilities"}},
    }))
    instances = tmp_path / "one.jsonl"
    instances.write_text(json.dumps(read_instances("cnn")[0]) + "\n")
    note = "does not use the metadata's input_baselines for input 'image'"

    assert note in xaiserve.run("inspect", fixture_dir("cnn"), "--metadata", metadata).expect_success().stdout
    assert note not in xaiserve.run("inspect", fixture_dir("cnn")).expect_success().stdout
    xrai = xaiserve.run("explain", fixture_dir("cnn"), "--metadata", metadata, "--instances", instances,
                        "--method", "xrai").expect_success()
    assert "warning: xrai starts its paths from black and white" in xrai.stderr and note in xrai.stderr
    ig = xaiserve.run("explain", fixture_dir("cnn"), "--metadata", metadata, "--instances", instances).expect_success()
    assert note not in ig.stderr

    # Not for zeros however given, nor for an input that is no image (XRAI cannot explain it).
    metadata.write_text(json.dumps({
        "inputs": {"image": {"input_tensor_name": "image", "input_baselines": [0.0, [[[0]] * 32] * 32]}},
        "outputs": {"probabilities": {"output_tensor_name": "probabilities"}},
    }))
    assert "xrai starts" not in xaiserve.run("inspect", fixture_dir("cnn"), "--metadata", metadata).expect_success().stdout
    inferred = json.loads(xaiserve.run("metadata", fixture_dir("tabular_mlp")).expect_success().stdout)
    for entry in inferred["inputs"].values():
        entry["input_baselines"] = [0.5]
    metadata.write_text(json.dumps(inferred))
    tabular = xaiserve.run("inspect", fixture_dir("tabular_mlp"), "--metadata", metadata).expect_success().stdout
    assert "xrai starts" not in tabular
