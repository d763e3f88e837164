"""Google's Explainable AI SDK (explainable-ai-sdk, what users of AI Platform
run on their side) works with xaiserve on both ends:

- metadata: each test builds a fixture's explanation_metadata.json with the
  SDK's own builder, and the attributions xaiserve gives with it are the
  Python reference's (reference.py) for the baselines the SDK wrote;
- client: the SDK's AI Platform client (`AIPlatformModel`), pointed at a
  running `xaiserve serve` with a bearer token, parses xaiserve's :predict and
  :explain responses into its `Explanation` objects, whose values are the
  reference's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import google.auth.credentials
import numpy as np
import pytest
from explainable_ai_sdk.metadata import parameters
from explainable_ai_sdk.metadata.tf.v2 import SavedModelMetadataBuilder
from explainable_ai_sdk.model.ai_platform_model import AIPlatformModel

from conftest import (
    attribution_values,
    fixture_dir,
    instances_file,
    only_attribution,
    read_instances,
    running_server,
)
from reference import assert_relatively_close, integrated_gradients

RELATIVE_TOLERANCE = 1e-4


def with_sdk_metadata(
    tmp_path: Path, name: str, configure: Callable[[SavedModelMetadataBuilder], None], **builder_args
) -> Path:
    """A copy of fixture `name` whose explanation_metadata.json is the SDK
    builder's, after `configure` has called its setters."""
    model = tmp_path / name
    shutil.copytree(fixture_dir(name), model)
    (model / "explanation_metadata.json").unlink(missing_ok=True)
    builder = SavedModelMetadataBuilder(str(model), **builder_args)
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


def test_metadata_built_for_the_wrong_signature_says_which_to_build_it_for(xaiserve, tmp_path):
    """multi_with_xai explains with xai_model; the SDK's builder describes
    serving_default unless told otherwise."""
    wrong = with_sdk_metadata(tmp_path / "default", "multi_with_xai", lambda builder: None)
    xaiserve.run("inspect", wrong).expect_failure(
        phrases=["it is an output of signature 'serving_default', but xaiserve explains with 'xai_model'",
                 "signature_name='xai_model'"],
        json_stdout=False,
    )

    right = with_sdk_metadata(tmp_path / "xai_model", "multi_with_xai", lambda builder: None, signature_name="xai_model")
    with_sdk = xaiserve.explain(right, instances=instances_file("multi_with_xai"))
    own = xaiserve.explain("multi_with_xai")
    for i, (a, b) in enumerate(zip(with_sdk, own)):
        np.testing.assert_array_equal(
            attribution_values(only_attribution(a)), attribution_values(only_attribution(b)), err_msg=f"instance {i}"
        )


def test_the_sdks_visualization_settings_draw_what_xaiserves_own_names_draw(xaiserve, tmp_path):
    """The SDK names the clip bounds clip_above/below_percentile and
    mask_black "mask"; its overlay_multiplier is accepted with a note."""

    def configure(builder: SavedModelMetadataBuilder) -> None:
        builder.set_image_metadata(
            "image",
            visualization=parameters.VisualizationParameters(
                type=parameters.VisualizationType.PIXELS,
                clip_above_percentile=99.0,
                clip_below_percentile=70.0,
                overlay_type=parameters.OverlayType.MASK_BLACK,
                overlay_multiplier=0.5,
            ),
        )

    model = with_sdk_metadata(tmp_path, "shapes_cnn", configure)
    written = sdk_metadata(model)["inputs"]["image"]["visualization"]
    assert written["clip_above_percentile"] == 99.0 and written["overlay_type"] == "mask"

    own = json.loads((fixture_dir("shapes_cnn") / "explanation_metadata.json").read_text())
    own["inputs"]["image"]["visualization"] = {
        "type": "pixels", "clip_percent_upperbound": 99.0, "clip_percent_lowerbound": 70.0, "overlay_type": "mask_black"
    }
    own_path = tmp_path / "own_names.json"
    own_path.write_text(json.dumps(own))
    instances = tmp_path / "one.jsonl"
    instances.write_text(instances_file("shapes_cnn").read_text().splitlines()[0] + "\n")

    sdk_run = xaiserve.run("explain", model, "--instances", instances, "--visualize", tmp_path / "sdk").expect_success()
    own_run = xaiserve.run(
        "explain", fixture_dir("shapes_cnn"), "--metadata", own_path, "--instances", instances,
        "--visualize", tmp_path / "own",
    ).expect_success()

    [sdk_png] = sorted((tmp_path / "sdk").glob("*.png"))
    [own_png] = sorted((tmp_path / "own").glob("*.png"))
    assert sdk_png.read_bytes() == own_png.read_bytes()
    note = "overlay_multiplier accepted but not applied to xaiserve's pictures"
    assert note in sdk_run.stderr
    assert "not applied" not in own_run.stderr
    with running_server("--model", f"image={model}", log_dir=tmp_path) as server:
        assert note in server.log_once(lambda text: note in text)


def test_a_string_input_as_the_sdks_tf1_builder_names_it_is_refused_at_load(xaiserve, tmp_path):
    """explainable_ai_sdk's TF1 SavedModelMetadataBuilder on tf1_parse_example
    names the serialized tf.Example strings. Its output is written here by
    hand, as it wrote it when run with a stand-in for tensorflow_estimator
    (which TensorFlow 2.20 no longer has, so the SDK's TF1 builders cannot
    be imported in .venv). No method can attribute a string: the model is
    refused when it loads (not at each explanation), with the way out."""
    metadata = tmp_path / "sdk_tf1.json"
    metadata.write_text(json.dumps({
        "outputs": {"probabilities": {"output_tensor_name": "dense_2/Softmax:0"}},
        "inputs": {"examples": {"input_tensor_name": "examples:0", "encoding": "identity", "modality": "numeric"}},
        "framework": "Tensorflow",
        "tags": ["explainable_ai_sdk"],
    }))
    phrases = ["inputs.examples names tensor 'examples:0', a string", "dense_input:0", "xai_preprocess"]
    xaiserve.run("inspect", fixture_dir("tf1_parse_example"), "--metadata", metadata).expect_failure(
        phrases=phrases, json_stdout=False
    )
    for method in ("integrated-gradients", "sampled-shapley"):
        xaiserve.command(
            "explain", "tf1_parse_example", "--metadata", metadata, "--method", method
        ).expect_failure(phrases=phrases)


@pytest.mark.parametrize("key, accepted", [("xai_model", True), ("serving_default", True), ("other", False)])
def test_serving_sigdef_key_must_be_a_signature_the_rules_choose(key, accepted, xaiserve, tmp_path):
    """multi_with_xai predicts with serving_default and explains with
    xai_model: the SDK's serving_sigdef_key may name either, not another."""
    metadata = {
        "inputs": {"features": {"input_tensor_name": "features"}},
        "outputs": {"logits": {"output_tensor_name": "logits"}},
        "serving_sigdef_key": key,
    }
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(metadata))
    result = xaiserve.command("explain", "multi_with_xai", "--metadata", path)
    if accepted:
        assert result.expect_success().json_lines() == xaiserve.explain("multi_with_xai")
    else:
        result.expect_failure(phrases=["serving_sigdef_key is 'other'", "explains with signature 'xai_model'",
                                       "predicts with 'serving_default'"])


# --------------------------------------------------------------------------
# The SDK's client against a running server
# --------------------------------------------------------------------------

TOKEN = "sdk-client-token"


class StaticToken(google.auth.credentials.Credentials):
    """Credentials that always hold one bearer token, as a service account's
    would after its refresh; the SDK refreshes them before every call."""

    def __init__(self, token: str):
        super().__init__()
        self._static = token

    def refresh(self, request) -> None:
        self.token = self._static


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(
        "--model", f"tab={fixture_dir('tabular_mlp')}", "--model", f"img={fixture_dir('shapes_cnn')}",
        "--auth-token", TOKEN, log_dir=tmp_path_factory.mktemp("logs"),
    ) as running:
        yield running


def sdk_client(server, model: str, token: str = TOKEN) -> AIPlatformModel:
    return AIPlatformModel(f"{server.url}/v1/models/{model}", StaticToken(token))


def keyed(name: str, key: str) -> list[dict]:
    """The fixture's instances keyed by input name, as the SDK's own examples
    send them (a bare instance gets bare attributions, which the SDK cannot read)."""
    return [{key: instance} for instance in read_instances(name)]


def test_the_sdk_client_reads_predictions(server, tf_models):
    response = sdk_client(server, "tab").predict(keyed("tabular_mlp", "features"))

    target = tf_models["tabular_mlp"].target("serving_default", "features", "probabilities")
    expected = target.outputs(np.array(read_instances("tabular_mlp"), np.float32))
    np.testing.assert_allclose(np.array(response["predictions"]), expected, rtol=1e-5, atol=1e-6)


def test_the_sdk_client_reads_explanations_as_the_reference(server, tf_models):
    own = json.loads((fixture_dir("tabular_mlp") / "explanation_metadata.json").read_text())
    baselines = [np.array(b, np.float32) for b in own["inputs"]["features"]["input_baselines"]]
    labels = own["outputs"]["probabilities"]["index_name_mapping"]

    explanations = sdk_client(server, "tab").explain(keyed("tabular_mlp", "features"))

    expected = tabular_reference(tf_models, baselines)
    assert len(explanations) == len(expected)
    for i, (explanation, ref) in enumerate(zip(explanations, expected)):
        values = explanation.as_tensors()
        assert list(values) == ["features"]
        assert_relatively_close(values["features"], ref.attributions, RELATIVE_TOLERANCE, what=f"instance {i}")
        attribution = explanation.get_attribution()
        assert attribution.label_index == list(ref.output_index), i
        assert attribution.label_name == labels[ref.output_index[0]], i
        assert attribution.example_score == pytest.approx(ref.instance_output, abs=1e-5), i
        assert attribution.baseline_score == pytest.approx(ref.baseline_output, abs=1e-5), i


def test_the_sdk_client_reads_an_image_explanation(server, tf_models):
    [explanation] = sdk_client(server, "img").explain(keyed("shapes_cnn", "image")[:1])

    [(name, values)] = explanation.as_tensors().items()
    image = np.array(read_instances("shapes_cnn")[0], np.float32)
    target = tf_models["shapes_cnn"].target("serving_default", "image", "probabilities")
    ref = integrated_gradients(target, image)
    assert name == "image" and values.shape == image.shape
    assert_relatively_close(values, ref.attributions, RELATIVE_TOLERANCE, what="shapes_cnn instance 0")
    assert explanation.get_attribution().label_index == list(ref.output_index)


def test_the_sdk_client_reports_a_wrong_token(server):
    with pytest.raises(ValueError, match="HTTP 401"):
        sdk_client(server, "tab", token="wrong").explain(keyed("tabular_mlp", "features")[:1])
