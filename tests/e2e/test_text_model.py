"""`text_classifier`: xai_preprocess turns a sentence into 8 tokens (padded
with ""), their ids and their embeddings [8, 8]; xai_model maps the
embeddings to probabilities (0 "negative", 1 "positive"). The metadata names
the input "tokens" with a concat_embedding encoding onto "embeddings", so
attributions are taken on the embeddings and summed over the embedding
dimension back onto each token: featureAttributions {"tokens": [8 values]}."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import attribution_values, fixture_dir, only_attribution, read_instances
from reference import assert_relatively_close, integrated_gradients

MODEL = "text_classifier"
TOKENS = 8
SHAPLEY = ("--method", "sampled-shapley")

# The fixture's sentences: two positive reviews, then two negative ones.
EXPECTED_CLASSES = ["positive", "positive", "negative", "negative"]
POSITIVE_WORDS = {"great", "excellent", "love", "wonderful", "good", "best", "amazing"}
NEGATIVE_WORDS = {"worst", "hate", "boring", "awful", "bad", "terrible", "poor"}


@pytest.fixture(scope="module")
def preprocessed(tf_models):
    """xai_preprocess run in Python: tokens (as str) and embeddings of each
    sentence, and xai_model as a differentiable target."""
    model = tf_models[MODEL]
    features = model.run(read_instances(MODEL), key="xai_preprocess")
    tokens = [[t.decode() for t in row] for row in features["tokens"]]
    return tokens, features["embeddings"], model.target("xai_model", "embeddings", "probabilities")


def token_attributions(response: dict) -> tuple[dict, np.ndarray]:
    entry = only_attribution(response)
    values = attribution_values(entry, "tokens")
    assert values.shape == (TOKENS,), f"expected one value per token, got shape {values.shape}"
    return entry, values


@pytest.mark.parametrize("method", ["integrated-gradients", "sampled-shapley"])
def test_top_token_carries_the_sentiment(method, xaiserve, preprocessed):
    tokens, _, _ = preprocessed
    responses = xaiserve.explain(MODEL, "--method", method)

    assert len(responses) == len(EXPECTED_CLASSES)
    for i, (response, words, expected) in enumerate(zip(responses, tokens, EXPECTED_CLASSES)):
        entry, values = token_attributions(response)
        assert entry["outputDisplayName"] == expected, f"instance {i}"
        assert entry["outputIndex"] == [1 if expected == "positive" else 0], f"instance {i}"
        top = words[int(np.argmax(values))]
        shown = " ".join(f"{word or '<pad>'}={value:.3f}" for word, value in zip(words, values))
        print(f"{method} instance {i} ({expected}): {shown}")
        assert top in (POSITIVE_WORDS if expected == "positive" else NEGATIVE_WORDS), (
            f"instance {i}: top token {top!r} for a {expected} sentence {words}"
        )


@pytest.mark.parametrize("method", ["integrated-gradients", "sampled-shapley"])
def test_padding_gets_nothing(method, xaiserve, preprocessed):
    tokens, _, _ = preprocessed
    padded = 0
    for i, (response, words) in enumerate(zip(xaiserve.explain(MODEL, "--method", method), tokens)):
        _, values = token_attributions(response)
        for position, word in enumerate(words):
            if word == "":
                padded += 1
                assert values[position] == 0.0, f"instance {i}: padding at {position} got {values[position]}"
    assert padded > 0


def test_integrated_gradients_match_reference_on_embeddings(xaiserve, preprocessed):
    """IG of xai_model w.r.t. the embeddings from a zero baseline, summed over
    the embedding dimension."""
    _, embeddings, target = preprocessed
    responses = xaiserve.explain(MODEL)

    for i, (response, x) in enumerate(zip(responses, embeddings)):
        entry, values = token_attributions(response)
        expected = integrated_gradients(target, x)
        assert_relatively_close(values, expected.attributions.sum(axis=-1), rel=1e-4, what=f"instance {i}")
        assert entry["outputIndex"] == list(expected.output_index)
        assert entry["instanceOutputValue"] == pytest.approx(expected.instance_output, abs=1e-5)
        assert entry["baselineOutputValue"] == pytest.approx(expected.baseline_output, abs=1e-5)


def test_shapley_tokens_sum_to_the_output_change(xaiserve, preprocessed):
    """Sampled Shapley switches whole tokens (all 8 embedding values) from the
    zero baseline: the per-token values sum to f(x) - f(0)."""
    _, embeddings, target = preprocessed
    responses = xaiserve.explain(MODEL, *SHAPLEY)

    for i, (response, x) in enumerate(zip(responses, embeddings)):
        entry, values = token_attributions(response)
        [index] = entry["outputIndex"]
        fx = float(target.outputs(x[np.newaxis])[0][index])
        fb = float(target.outputs(np.zeros_like(x)[np.newaxis])[0][index])
        assert entry["instanceOutputValue"] == pytest.approx(fx, abs=1e-5), f"instance {i}"
        assert entry["baselineOutputValue"] == pytest.approx(fb, abs=1e-5), f"instance {i}"
        assert values.sum() == pytest.approx(fx - fb, abs=1e-5), f"instance {i}"


def test_index_feature_mapping_on_an_embedded_input_is_noted_as_unused(xaiserve, tmp_path):
    """concat_embedding attributes each position of the input; names by index
    are Vertex's for identity and the bag encodings only, so a mapping here
    would be silently unused: inspect says so, and the attributions stay a list."""
    metadata = json.loads((fixture_dir(MODEL) / "explanation_metadata.json").read_text())
    metadata["inputs"]["tokens"]["index_feature_mapping"] = [f"position_{i}" for i in range(TOKENS)]
    path = tmp_path / "explanation_metadata.json"
    path.write_text(json.dumps(metadata))

    inspected = xaiserve.run("inspect", fixture_dir(MODEL), "--metadata", path).expect_success()
    said = inspected.stdout + inspected.stderr
    assert "inputs.tokens.index_feature_mapping is not used with encoding 'concat_embedding'" in said, said
    assert "one per position of the input" in said

    [response, *_] = xaiserve.explain(MODEL, "--metadata", path)
    token_attributions(response)
