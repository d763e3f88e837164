"""Metadata encodings that name every element of a vector input
(bag_of_features, indicator): attributions come back per feature name, and
the exact Shapley values of the bag_of_words fixture (enumerated over all 2^6
coalitions in Python) are matched by Sampled Shapley within its reported
error with 10 paths, and exactly with 50 (where xaiserve takes every
coalition itself)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import fixture_dir, only_attribution, read_instances, write_json

VOCABULARY = ["good", "great", "fun", "bad", "dull", "awful"]


def metadata(encoding: str) -> dict:
    return {
        "inputs": {"words": {"input_tensor_name": "counts", "encoding": encoding,
                             "index_feature_mapping": VOCABULARY}},
        "outputs": {"probabilities": {"output_tensor_name": "probabilities",
                                      "index_name_mapping": ["negative", "positive"]}},
    }


def exact_shapley(f, x: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Shapley values by the coalition formula over all subsets."""
    n = len(x)
    values = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            for coalition in itertools.combinations(others, size):
                point = baseline.copy()
                point[list(coalition)] = x[list(coalition)]
                without = f(point)
                point[i] = x[i]
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                values[i] += weight * (f(point) - without)
    return values


@pytest.mark.parametrize("method", ["integrated-gradients", "sampled-shapley"])
def test_attributions_are_named_by_the_vocabulary(xaiserve, method):
    counts = read_instances("bag_of_words")
    for response, row in zip(xaiserve.explain("bag_of_words", "--method", method), counts):
        entry = only_attribution(response)
        named = entry["featureAttributions"]["words"]
        assert sorted(named) == sorted(VOCABULARY)
        for word, count in zip(VOCABULARY, row):
            if count == 0:  # zero baseline, word absent: exactly nothing to attribute
                assert named[word] == 0.0, (word, named)
        total = sum(named.values())
        gap = entry["instanceOutputValue"] - entry["baselineOutputValue"]
        tolerance = entry["approximationError"] * abs(gap) + 1e-6
        assert abs(total - gap) <= tolerance
        assert entry["outputDisplayName"] in ("negative", "positive")


def test_indicator_encoding_names_features_too(xaiserve, tmp_path):
    path = write_json(tmp_path / "indicator.json", metadata("indicator"))
    entry = only_attribution(xaiserve.explain("bag_of_words", "--metadata", path)[0])
    assert sorted(entry["featureAttributions"]["words"]) == sorted(VOCABULARY)


def test_identity_encoding_mirrors_the_instance(xaiserve, tmp_path):
    """Without a naming encoding, a bare instance gets a bare list back."""
    path = write_json(tmp_path / "identity.json", metadata("identity"))
    entry = only_attribution(xaiserve.explain("bag_of_words", "--metadata", path)[0])
    assert isinstance(entry["featureAttributions"], list)
    assert len(entry["featureAttributions"]) == len(VOCABULARY)


def test_bag_of_features_needs_the_mapping(xaiserve, tmp_path):
    broken = metadata("bag_of_features")
    del broken["inputs"]["words"]["index_feature_mapping"]
    path = write_json(tmp_path / "broken.json", broken)
    xaiserve.command("explain", "bag_of_words", "--metadata", path).expect_failure(
        phrases=["index_feature_mapping is required", "bag_of_features"])


@pytest.mark.parametrize("paths", [10, 50])
def test_sampled_shapley_matches_exact_shapley(paths, xaiserve, tf_models):
    """6 words: with 10 paths the permutations (61 rows) cost less than the
    64 coalitions and are sampled; with 50 the coalitions are cheaper and
    the answer is exact."""
    model = tf_models["bag_of_words"]
    counts = np.array(read_instances("bag_of_words"), np.float32)

    def positive(point: np.ndarray) -> float:
        return float(model.run([point.tolist()])["probabilities"][0, 1])

    for response, row in zip(xaiserve.explain("bag_of_words", "--method", "sampled-shapley", "--paths", paths,
                                              "--output-indices", "1"), counts):
        entry = only_attribution(response)
        estimate = np.array([entry["featureAttributions"]["words"][w] for w in VOCABULARY])
        exact = exact_shapley(positive, row.astype(np.float64), np.zeros(len(VOCABULARY)))
        gap = entry["instanceOutputValue"] - entry["baselineOutputValue"]
        standard_error = entry["approximationError"] * abs(gap)
        assert np.linalg.norm(estimate - exact) <= 3 * standard_error + 1e-6, (estimate, exact)
        if paths == 50:
            assert entry["approximationError"] == 0.0
        else:
            assert standard_error > 0
        assert estimate.sum() == pytest.approx(exact.sum(), abs=1e-5)
