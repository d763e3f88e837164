"""Metadata written by Google's Explainable AI SDK (explainable-ai-sdk, the
builders users run before deploying a model to AI Platform) is read as the SDK
means it: each test builds a fixture's explanation_metadata.json with the
SDK's own builder, and the attributions xaiserve gives with it are the Python
reference's (reference.py) for the baselines the SDK wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from explainable_ai_sdk.metadata.tf.v2 import SavedModelMetadataBuilder

from conftest import attribution_values, fixture_dir, instances_file, only_attribution, read_instances
from reference import assert_relatively_close, integrated_gradients

RELATIVE_TOLERANCE = 1e-4


def with_sdk_metadata(tmp_path: Path, name: str, configure: Callable[[SavedModelMetadataBuilder], None]) -> Path:
    """A copy of fixture `name` whose explanation_metadata.json is the SDK
    builder's, after `configure` has called its setters."""
    model = tmp_path / name
    shutil.copytree(fixture_dir(name), model)
    (model / "explanation_metadata.json").unlink(missing_ok=True)
    builder = SavedModelMetadataBuilder(str(model))
    configure(builder)
    builder.save_metadata(str(model))
    return model


def sdk_metadata(model: Path) -> dict:
    return json.loads((model / "explanation_metadata.json").read_text())


def tabular_reference(tf_models, baselines=None) -> list:
    target = tf_models["tabular_mlp"].target("serving_default", "features", "probabilities")
    instances = np.array(read_instances("tabular_mlp"), np.float32)
    return [integrated_gradients(target, x, baselines) for x in instances]


def test_the_tf2_builders_defaults_explain_from_a_zero_baseline(xaiserve, tf_models, tmp_path):
    model = with_sdk_metadata(tmp_path, "tabular_mlp", lambda builder: None)
    assert sdk_metadata(model)["framework"] == "tensorflow2"  # what xaiserve once refused

    responses = xaiserve.explain(model, instances=instances_file("tabular_mlp"))

    expected = tabular_reference(tf_models)
    assert len(responses) == len(expected)
    for i, (response, ref) in enumerate(zip(responses, expected)):
        entry = only_attribution(response)
        assert_relatively_close(attribution_values(entry), ref.attributions, RELATIVE_TOLERANCE, what=f"instance {i}")
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=1e-5)
        assert entry["outputName"] == "probabilities"


def test_numeric_baselines_names_and_new_names_from_the_sdk(xaiserve, tf_models, tmp_path):
    own = json.loads((fixture_dir("tabular_mlp") / "explanation_metadata.json").read_text())["inputs"]["features"]
    baselines, names = own["input_baselines"], own["index_feature_mapping"]

    def configure(builder: SavedModelMetadataBuilder) -> None:
        builder.set_numeric_metadata(
            "features", new_name="measurements", input_baselines=baselines, index_feature_mapping=names
        )
        builder.set_output_metadata("probabilities", "diagnosis")

    model = with_sdk_metadata(tmp_path, "tabular_mlp", configure)
    metadata = sdk_metadata(model)
    assert metadata["inputs"]["measurements"]["input_tensor_name"] == "features"
    assert metadata["outputs"]["diagnosis"]["output_tensor_name"] == "probabilities"

    responses = xaiserve.explain(model, instances=instances_file("tabular_mlp"))

    expected = tabular_reference(tf_models, [np.array(b, np.float32) for b in baselines])
    for i, (response, ref) in enumerate(zip(responses, expected)):
        entry = only_attribution(response)
        # Under the input's new name, each feature under its name from index_feature_mapping.
        [(input_name, by_feature)] = entry["featureAttributions"].items()
        assert input_name == "measurements" and sorted(by_feature) == sorted(names), f"instance {i}"
        values = np.array([by_feature[n] for n in names])
        assert_relatively_close(values, ref.attributions, RELATIVE_TOLERANCE, what=f"instance {i}")
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=1e-5)
        assert entry["outputName"] == "diagnosis"
