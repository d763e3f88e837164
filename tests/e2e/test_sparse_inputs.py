"""Sparse inputs and the bag_of_features_sparse encoding.

`sparse_words` is a TF1 SavedModel whose serving signature takes a
SparseTensor `words` [N,6] (coo_sparse: words/values, words/indices,
words/shape); the graph scatters it to dense (ScatterNd) and
score = w.x + 0.25 on that dense view, probability = sigmoid(score).
`sparse_matmul` computes the same score with SparseTensorDenseMatMul, which
has no gradient in TensorFlow's C++ registry. Instances are given dense or as
{"values", "indices"[, "dense_shape"]}.

Truths independent of xaiserve: predictions from Python TensorFlow fed the
same SparseTensorValue; for the linear score, IG and Shapley from a zero
baseline are exactly w_i x_i; for the sigmoid, IG computed in Python with
TensorFlow's Python gradients w.r.t. the values tensor on the same midpoint
path points.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import (
    fixture_dir,
    only_attribution,
    read_instances,
    running_server,
    tf_serving_signature_defs,
    write_json,
)

WORDS = ["good", "great", "fun", "bad", "dull", "awful"]
WEIGHTS = np.array([1.5, -2.0, 0.5, 3.0, -1.0, 2.5])
BIAS = 0.25


def dense_rows(instances) -> np.ndarray:
    """Request instances (dense lists or COO objects) as dense float32 rows."""
    rows = np.zeros((len(instances), len(WORDS)), np.float32)
    for row, instance in zip(rows, instances):
        if isinstance(instance, dict):
            for [index], value in zip(instance["indices"], instance["values"]):
                row[index] = value
        else:
            row[:] = instance
    return rows


def metadata(encoding: str = "bag_of_features_sparse", output: str = "score:0", **extra) -> dict:
    words = {
        "input_tensor_name": "words/values:0",
        "indices_tensor_name": "words/indices:0",
        "dense_shape_tensor_name": "words/shape:0",
        "encoding": encoding,
        **extra,
    }
    if encoding != "identity":
        words["index_feature_mapping"] = WORDS
    return {"inputs": {"words": words}, "outputs": {"out": {"output_tensor_name": output}}}


class SparseSession:
    """sparse_words in Python TensorFlow (TF1 session), fed SparseTensorValues."""

    def __init__(self, name: str = "sparse_words"):
        import tensorflow as tf

        self.tf = tf
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], str(fixture_dir(name)))
        self.signature = meta_graph.signature_def["serving_default"]
        self.values = self.graph.get_tensor_by_name("words/values:0")
        self.indices = self.graph.get_tensor_by_name("words/indices:0")
        self.shape = self.graph.get_tensor_by_name("words/shape:0")

    def feed(self, dense: np.ndarray) -> dict:
        dense = np.asarray(dense, np.float32)
        return {
            self.values: dense[dense != 0],
            self.indices: np.argwhere(dense != 0).astype(np.int64),
            self.shape: np.array(dense.shape, np.int64),
        }

    def predict(self, dense: np.ndarray) -> dict[str, np.ndarray]:
        fetches = {key: info.name for key, info in self.signature.outputs.items()}
        return self.session.run(fetches, self.feed(dense))

    def integrated_gradients(self, x: np.ndarray, output: str, steps: int) -> np.ndarray:
        """IG from a zero baseline on the midpoint rule, with Python TF's
        gradient w.r.t. the values, placed at the entries' positions."""
        with self.graph.as_default():
            target = self.graph.get_tensor_by_name(output)
            [gradient] = self.tf.gradients(target, [self.values])
        total = np.zeros_like(x, np.float64)
        for j in range(steps):
            point = ((j + 0.5) / steps * x)[np.newaxis].astype(np.float32)
            feed = self.feed(point)
            values_gradient = self.session.run(gradient, feed)
            dense_gradient = np.zeros(point.shape)
            dense_gradient[tuple(feed[self.indices].T)] = values_gradient
            total += dense_gradient[0] / steps
        return x * total


@pytest.fixture(scope="module")
def python_model() -> SparseSession:
    return SparseSession()


def named(entry: dict) -> np.ndarray:
    features = entry["featureAttributions"]["words"]
    assert sorted(features) == sorted(WORDS), features
    return np.array([features[word] for word in WORDS])


# --- predictions ------------------------------------------------------------------


def test_predictions_equal_python_tensorflow_fed_the_same_sparse_tensor(xaiserve, python_model):
    instances = read_instances("sparse_words")
    assert any(isinstance(i, dict) for i in instances) and any(isinstance(i, list) for i in instances)
    expected = python_model.predict(dense_rows(instances))
    responses = xaiserve.predict("sparse_words")
    worst = 0.0
    for row, response in enumerate(responses):
        [prediction] = response["predictions"]
        for key in ("score", "probability"):
            worst = max(worst, abs(prediction[key] - float(expected[key][row])))
    assert worst <= 1e-6, worst
    print(f"predictions: max |xaiserve - Python TF| = {worst:.2e}")


# --- Integrated Gradients ---------------------------------------------------------


def test_integrated_gradients_are_exact_on_the_linear_score(xaiserve):
    """bag_of_features_sparse (the fixture's metadata): named per word;
    IG on the midpoint rule is exact for a linear model."""
    x = dense_rows(read_instances("sparse_words")).astype(np.float64)
    worst = 0.0
    for row, response in zip(x, xaiserve.explain("sparse_words")):
        entry = only_attribution(response)
        attributions = named(entry)
        expected = WEIGHTS * row
        worst = max(worst, float(np.max(np.abs(attributions - expected))))
        np.testing.assert_allclose(attributions, expected, rtol=1e-5, atol=1e-5)
        assert all(attributions[row == 0] == 0.0), "absent words must get exactly 0"
        assert entry["baselineOutputValue"] == pytest.approx(BIAS, abs=1e-6)
        assert entry["approximationError"] < 1e-5
    print(f"IG on the linear score: max |attribution - w_i x_i| = {worst:.2e}")


def test_identity_encoding_returns_the_dense_view(xaiserve, tmp_path):
    """A bare instance, dense or COO, gets a bare dense list back."""
    path = write_json(tmp_path / "identity.json", metadata("identity"))
    x = dense_rows(read_instances("sparse_words")).astype(np.float64)
    for row, response in zip(x, xaiserve.explain("sparse_words", "--metadata", path, "--steps", "7")):
        values = np.array(only_attribution(response)["featureAttributions"])
        np.testing.assert_allclose(values, WEIGHTS * row, rtol=1e-5, atol=1e-5)


def test_integrated_gradients_on_the_sigmoid_match_python_tensorflow(xaiserve, tmp_path, python_model):
    path = write_json(tmp_path / "probability.json", metadata(output="probability:0"))
    x = dense_rows(read_instances("sparse_words")).astype(np.float64)
    worst = 0.0
    for row, response in zip(x, xaiserve.explain("sparse_words", "--metadata", path, "--steps", "20")):
        entry = only_attribution(response)
        expected = python_model.integrated_gradients(row, "probability:0", steps=20)
        actual = named(entry)
        worst = max(worst, float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected))))
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6)
        gap = entry["instanceOutputValue"] - entry["baselineOutputValue"]
        assert abs(actual.sum() - gap) <= 0.05 * abs(gap)
    print(f"IG on the sigmoid: max relative difference from Python TF = {worst:.2e}")


def test_smoothgrad_leaves_absent_words_absent(xaiserve):
    x = dense_rows(read_instances("sparse_words")).astype(np.float64)
    responses = xaiserve.explain("sparse_words", "--noise-sigma", "0.5", "--noisy-samples", "5")
    for row, response in zip(x, responses):
        attributions = named(only_attribution(response))
        assert all(attributions[row == 0] == 0.0)
        # Linear model: the noisy samples' IG is w_i (x_i + noise), still present words only.
        assert all(attributions[row != 0] != 0.0)


def test_op_without_a_cpp_gradient_points_to_sampled_shapley(xaiserve):
    result = xaiserve.command("explain", "sparse_matmul")
    result.expect_failure(phrases=["SparseTensorDenseMatMul", "Sampled Shapley"])


# --- Sampled Shapley --------------------------------------------------------------


@pytest.mark.parametrize("model", ["sparse_words", "sparse_matmul"])
def test_sampled_shapley_is_exact_on_the_linear_score(xaiserve, model):
    x = dense_rows(read_instances(model)).astype(np.float64)
    for row, response in zip(x, xaiserve.explain(model, "--method", "sampled-shapley", "--paths", "5")):
        entry = only_attribution(response)
        attributions = named(entry)
        np.testing.assert_allclose(attributions, WEIGHTS * row, rtol=1e-5, atol=1e-5)
        gap = entry["instanceOutputValue"] - entry["baselineOutputValue"]
        assert attributions.sum() == pytest.approx(gap, abs=1e-5)


# --- bag_of_features_sparse on a dense input -----------------------------------------


def test_bag_of_features_sparse_on_a_dense_input_needs_no_indices(xaiserve, tmp_path, tf_models):
    """The cloud's example: a dense count vector where zeros are absent
    features. Even from a nonzero baseline, absent words get exactly 0.
    Each instance's baseline is its own (0.5 where a word is present, 0 where
    absent), though the metadata's baseline is read once per process."""
    vocabulary = ["good", "great", "fun", "bad", "dull", "awful"]
    md = {
        "inputs": {"words": {"input_tensor_name": "counts", "encoding": "bag_of_features_sparse",
                             "index_feature_mapping": vocabulary, "input_baselines": [0.5]}},
        "outputs": {"probabilities": {"output_tensor_name": "probabilities"}},
    }
    path = write_json(tmp_path / "bag_sparse.json", md)
    counts = np.array(read_instances("bag_of_words"), np.float64)
    assert len({tuple(row == 0) for row in counts}) > 1, "the instances must differ in which words are absent"
    model = tf_models["bag_of_words"]
    for method in ("integrated-gradients", "sampled-shapley"):
        for row, response in zip(counts, xaiserve.explain("bag_of_words", "--metadata", path, "--method", method)):
            entry = only_attribution(response)
            baseline = np.where(row == 0, 0.0, 0.5).astype(np.float32)
            [output_index] = entry["outputIndex"]
            expected_baseline_output = float(model.run([baseline.tolist()])["probabilities"][0, output_index])
            assert entry["baselineOutputValue"] == pytest.approx(expected_baseline_output, abs=1e-6)
            features = entry["featureAttributions"]["words"]
            assert sorted(features) == sorted(vocabulary)
            values = np.array([features[w] for w in vocabulary])
            assert all(values[row == 0] == 0.0), (method, features)
            assert any(values[row != 0] != 0.0)
            gap = entry["instanceOutputValue"] - entry["baselineOutputValue"]
            assert abs(values.sum() - gap) <= entry["approximationError"] * abs(gap) + 1e-6


# --- bad metadata and bad requests -------------------------------------------------


def test_metadata_naming_the_wrong_indices_tensor_is_refused(xaiserve, tmp_path):
    md = metadata()
    md["inputs"]["words"]["indices_tensor_name"] = "words/shape:0"
    path = write_json(tmp_path / "wrong.json", md)
    xaiserve.command("explain", "sparse_words", "--metadata", path).expect_failure(
        phrases=["indices_tensor_name is 'words/shape:0'", "words/indices:0"])


def test_sparse_tensor_names_on_a_dense_input_are_refused(xaiserve, tmp_path):
    md = {"inputs": {"x": {"input_tensor_name": "x", "indices_tensor_name": "indices:0"}},
          "outputs": {"y": {"output_tensor_name": "y"}}}
    path = write_json(tmp_path / "dense.json", md)
    xaiserve.command("explain", "linear", "--metadata", path).expect_failure(
        phrases=["indices_tensor_name", "dense tensor"])


BAD_SPARSE_INSTANCES = [
    ({"values": [1.0], "indices": [[6]], "dense_shape": [6]}, ["index 0 [6] is out of range for dense_shape [6]"]),
    ({"values": [1.0], "indices": [[1]], "dense_shape": [7]}, ["dense_shape [7] does not fit", "[6]"]),
    ({"values": [1.0, 2.0], "indices": [[1]]}, ["2 values but 1 indices"]),
    ({"values": [1.0], "indices": [[0, 1]]}, ["indices[0] must be a list of 1 coordinates"]),
    ({"values": [1.0, 2.0], "indices": [[3], [3]]}, ["repeats an earlier index"]),
    ({"values": ["one"], "indices": [[3]]}, ["\"values\""]),
]


@pytest.mark.parametrize("instance, phrases", BAD_SPARSE_INSTANCES)
def test_bad_sparse_instances_fail_on_the_command_line(xaiserve, tmp_path, instance, phrases):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(instance) + "\n")
    for command in ("predict", "explain"):
        xaiserve.command(command, "sparse_words", instances=path).expect_failure(
            phrases=["instance 0", "input 'words'", *phrases])


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server("--model", f"sparse={fixture_dir('sparse_words')}",
                        log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_the_server_describes_the_sparse_input(server):
    model = server.get("/v1/models/sparse").expect(200)
    text = json.dumps(model)
    assert '"indicesTensorName": "words/indices:0"' in text and '"denseShapeTensorName": "words/shape:0"' in text


def test_the_metadata_route_gives_the_sparse_input_as_coo_sparse(server):
    metadata = server.get("/v1/models/sparse/metadata").expect(200)
    signature_defs = metadata["metadata"]["signature_def"]["signature_def"]
    assert signature_defs == tf_serving_signature_defs(fixture_dir("sparse_words"))
    assert any("coo_sparse" in t for s in signature_defs.values() for t in s["inputs"].values())


def test_the_server_explains_a_sparse_instance(server):
    body = {"instances": [{"values": [2.0, 5.0, 1.0], "indices": [[0], [2], [4]], "dense_shape": [6]}]}
    reply = server.post("/v1/models/sparse:explain", body).expect(200)
    entry = reply["explanations"][0]["attributions"][0]
    np.testing.assert_allclose(named(entry), WEIGHTS * np.array([2, 0, 5, 0, 1, 0]), rtol=1e-5, atol=1e-5)
    [prediction] = reply["predictions"]
    assert prediction["score"] == pytest.approx(BIAS + 3 + 2.5 - 1, abs=1e-5)


@pytest.mark.parametrize("instance, phrases", BAD_SPARSE_INSTANCES)
def test_bad_sparse_requests_get_400(server, instance, phrases):
    for verb in ("predict", "explain"):
        reply = server.post(f"/v1/models/sparse:{verb}", {"instances": [instance]})
        reply.expect_error(400, "INVALID_ARGUMENT", ["instance 0", "input 'words'", *phrases])
    # ... and the server still answers.
    server.post("/v1/models/sparse:predict", {"instances": [[1, 0, 0, 0, 0, 0]]}).expect(200)
