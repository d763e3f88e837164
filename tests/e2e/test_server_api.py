"""The REST API of `xaiserve serve` (SPEC §4) on the bundled demo models,
over loopback: every route, request and response shapes, and the answers
equal to the command line's for the same instances and parameters."""

from __future__ import annotations

import copy
import http.client
import json
import re
import shutil
import subprocess
import urllib.request

import pytest

from conftest import DEMO_MODELS, FIXTURES, fixture_dir, read_instances, running_server, tf_serving_signature_defs

DEMO = DEMO_MODELS


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    """The demo server: no --model, so it serves the demo models."""
    with running_server("--demo-dir", FIXTURES, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def explain_body(name: str, parameters: dict | None = None) -> dict:
    body = {"instances": read_instances(DEMO[name])}
    if parameters is not None:
        body["explanationSpecOverride"] = {"parameters": parameters}
    return body


def assert_equals_cli(response: dict, cli_lines: list[dict]) -> None:
    """A REST :explain answer for N instances against the CLI's N lines:
    the same JSON, number for number."""
    assert len(response["explanations"]) == len(cli_lines)
    for i, line in enumerate(cli_lines):
        assert response["explanations"][i] == line["explanations"][0], f"instance {i} differs"
        if "predictions" in line:
            assert response["predictions"][i] == line["predictions"][0], f"prediction {i} differs"
        else:
            assert "predictions" not in response


# --------------------------------------------------------------------------
# REST answers equal the CLI's
# --------------------------------------------------------------------------

SAME_AS_CLI = [
    ("tabular", None, ()),
    ("tabular", {"integratedGradientsAttribution": {"stepCount": 20}, "topK": -1}, ("--steps", 20, "--top-k", -1)),
    ("tabular", {"sampledShapleyAttribution": {"pathCount": 5}}, ("--method", "sampled-shapley", "--paths", 5)),
    ("tabular", {"outputIndices": [0]}, ("--output-indices", 0)),
    ("image", {"integratedGradientsAttribution": {"stepCount": 30}}, ("--steps", 30)),
    ("image", {"xraiAttribution": {"stepCount": 10}}, ("--method", "xrai", "--steps", 10)),
    ("text", None, ()),
    ("text", {"sampledShapleyAttribution": {"pathCount": 3}}, ("--method", "sampled-shapley", "--paths", 3)),
]


@pytest.mark.parametrize("name,parameters,flags", SAME_AS_CLI, ids=lambda v: str(v)[:40])
def test_explain_equals_the_cli(server, xaiserve, name, parameters, flags):
    response = server.post(f"/v1/models/{name}:explain", explain_body(name, parameters)).expect(200)

    assert_equals_cli(response, xaiserve.explain(DEMO[name], *flags))


@pytest.mark.parametrize("name", ["tabular", "text"])
def test_predict_equals_the_cli(server, xaiserve, name):
    response = server.post(f"/v1/models/{name}:predict", {"instances": read_instances(DEMO[name])}).expect(200)

    assert response == {"predictions": [line["predictions"][0] for line in xaiserve.predict(DEMO[name])]}


def test_a_version_route_answers_like_the_model_route(server):
    body = explain_body("tabular")
    plain = server.post("/v1/models/tabular:explain", body).expect(200)

    assert server.post("/v1/models/tabular/versions/0:explain", body).expect(200) == plain
    assert server.post("/v1/models/tabular/versions/0:predict", {"instances": body["instances"]}).expect(200) == {
        "predictions": plain["predictions"]
    }


def test_parameters_may_also_come_at_the_top_level(server):
    parameters = {"integratedGradientsAttribution": {"stepCount": 7}}
    nested = server.post("/v1/models/tabular:explain", explain_body("tabular", parameters)).expect(200)
    top = server.post(
        "/v1/models/tabular:explain", {"instances": read_instances("tabular_mlp"), "parameters": parameters}
    ).expect(200)

    assert top == nested


def test_a_request_written_by_protobuf_s_json_printer_is_read_as_written(server):
    """The cloud's client libraries send proto3 JSON: a Struct's numbers are
    doubles ([1] becomes [1.0]), int32 fields may come as strings, and a
    count of 0 is an unset one. Vertex's prediction "parameters" may come
    beside explanationSpecOverride.parameters; TensorFlow models take none."""
    from google.protobuf import json_format, struct_pb2

    parameters = struct_pb2.Struct()
    parameters.update({"integratedGradientsAttribution": {"stepCount": 20}, "outputIndices": [0]})
    printed = json.loads(json_format.MessageToJson(parameters))
    assert printed["outputIndices"] == [0.0] and isinstance(printed["outputIndices"][0], float)
    proto_body = {"instances": read_instances("tabular_mlp"), "explanationSpecOverride": {"parameters": printed},
                  "parameters": {"confidenceThreshold": 0.5}}
    plain_body = explain_body("tabular", {"integratedGradientsAttribution": {"stepCount": 20}, "outputIndices": [0]})
    plain = server.post("/v1/models/tabular:explain", plain_body).expect(200)
    assert server.post("/v1/models/tabular:explain", proto_body).expect(200) == plain

    as_strings = explain_body("tabular", {"integratedGradientsAttribution": {"stepCount": "20"}, "topK": "2"})
    with_ints = explain_body("tabular", {"integratedGradientsAttribution": {"stepCount": 20}, "topK": 2})
    assert (server.post("/v1/models/tabular:explain", as_strings).expect(200)
            == server.post("/v1/models/tabular:explain", with_ints).expect(200))
    zeros = explain_body("tabular", {"integratedGradientsAttribution": {"stepCount": 0}, "topK": 0})
    assert server.post("/v1/models/tabular:explain", zeros).expect(200) == server.post(
        "/v1/models/tabular:explain", explain_body("tabular")).expect(200)


def test_the_cloud_s_resource_paths_reach_the_model(server):
    """A request written for Vertex or the legacy service needs only the host changed."""
    body = explain_body("tabular", {"integratedGradientsAttribution": {"stepCount": 10}})
    expected = server.post("/v1/models/tabular:explain", body).expect(200)
    for path in ("/v1/projects/my-project/locations/us-central1/endpoints/tabular:explain",
                 "/v1/projects/my-project/models/tabular:explain",
                 "/v1/projects/my-project/models/tabular/versions/0:explain"):
        assert server.post(path, body).expect(200) == expected, path
    server.post("/v1/projects/p/models/tabular/versions/v1:explain", body).expect_error(
        404, "NOT_FOUND", ["non-negative integers"])


def test_a_vertex_endpoint_s_path_answers_with_the_endpoint_resource(server):
    """Google's client library (aiplatform.Endpoint) GETs the endpoint before it predicts or explains,
    and then calls the path named by the resource's "name": it must be the whole resource name, and
    a "createTime" tells the library that the resource exists."""
    path = "/v1/projects/my-project/locations/us-central1/endpoints/tabular"
    endpoint = server.get(path).expect(200)
    assert endpoint["name"] == "projects/my-project/locations/us-central1/endpoints/tabular"
    assert endpoint["displayName"] == "tabular"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", endpoint["createTime"])
    versions = server.get("/v1/models/tabular").expect(200)["versions"]
    assert [d["id"] for d in endpoint["deployedModels"]] == [str(v["version"]) for v in versions]
    assert endpoint["trafficSplit"] == {str(versions[-1]["version"]): 100}
    assert server.get("/v1beta1/" + endpoint["name"]).expect(200) == endpoint
    body = explain_body("tabular")
    assert server.post("/v1/" + endpoint["name"] + ":explain", body).expect(200) == server.post(
        "/v1/models/tabular:explain", body).expect(200)
    assert "versions" in server.get("/v1/projects/my-project/models/tabular").expect(200), \
        "the legacy service's path keeps the model status"


def test_baselines_override_per_request(server):
    """explanationSpecOverride.metadata: from a baseline equal to the instance
    there is nothing to attribute."""
    [instance] = read_instances("tabular_mlp")[:1]
    body = {
        "instances": [instance],
        "explanationSpecOverride": {"metadata": {"inputs": {"features": {"inputBaselines": [instance]}}}},
    }

    [attribution] = server.post("/v1/models/tabular:explain", body).expect(200)["explanations"][0]["attributions"]

    assert attribution["baselineOutputValue"] == pytest.approx(attribution["instanceOutputValue"], abs=1e-6)
    assert max(abs(a) for a in attribution["featureAttributions"]) < 1e-6


def test_an_embedded_input_refuses_input_baselines_in_the_override(server):
    """The text model's input is token ids embedded (concat_embedding): its
    baselines are of the embeddings, which the metadata file gives as
    encoded_baselines. A request's inputBaselines for it used to be taken as
    embedding values; it is refused, as the same field in the file is."""
    body = {
        "instances": read_instances("text_classifier")[:1],
        "explanationSpecOverride": {"metadata": {"inputs": {"tokens": {"inputBaselines": [0.1]}}}},
    }

    server.post("/v1/models/text:explain", body).expect_error(
        400, "INVALID_ARGUMENT",
        ["inputs.tokens.inputBaselines cannot be used with encoding 'concat_embedding'", "encoded_baselines",
         "metadata file (a request cannot override them)"])


# --------------------------------------------------------------------------
# TF Serving's :predict forms
# --------------------------------------------------------------------------


def test_columnar_inputs_answer_with_outputs(server):
    instances = read_instances("tabular_mlp")
    rows = server.post("/v1/models/tabular:predict", {"instances": instances}).expect(200)["predictions"]

    bare = server.post("/v1/models/tabular:predict", {"inputs": instances}).expect(200)
    named = server.post("/v1/models/tabular:predict", {"inputs": {"features": instances}}).expect(200)

    assert bare == {"outputs": rows}
    assert named == {"outputs": rows}


def test_signature_name_selects_the_signature(server):
    body = {"instances": read_instances("text_classifier"), "signature_name": "serving_default"}
    assert len(server.post("/v1/models/text:predict", body).expect(200)["predictions"]) == 4

    message = server.post("/v1/models/text:predict", {**body, "signature_name": "nope"}).expect_error(404)
    assert "nope" in message and "serving_default" in message


# --------------------------------------------------------------------------
# Status routes
# --------------------------------------------------------------------------


def test_models_lists_the_demo_models(server):
    models = server.get("/v1/models").expect(200)["models"]

    assert [m["name"] for m in models] == ["tabular", "image", "text"]
    for m in models:
        assert m["state"] == "AVAILABLE"
        assert m["versions"] == [0] and m["defaultVersion"] == 0
        assert m["explainable"] is True
        assert m["defaultMethod"] == "integrated-gradients"
        assert m["basePath"] == str(fixture_dir(DEMO[m["name"]]))


def test_model_status_says_which_signature_explains_and_why(server):
    status = server.get("/v1/models/text").expect(200)
    [version] = status["versions"]

    assert status["loadErrors"] == []
    assert status["model_version_status"] == [
        {"version": "0", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]
    assert version["predictSignature"] == "serving_default"
    assert version["explainSignature"] == "xai_model"
    assert version["preprocessSignature"] == "xai_preprocess"
    assert "xai_preprocess" in version["explainReason"]
    assert version["predictReason"]
    keys = {s["key"]: s for s in version["signatures"]}
    assert set(keys) == {"serving_default", "xai_model", "xai_preprocess"}
    assert keys["serving_default"]["inputs"][0] == {
        "key": "text",
        "tensorName": "serving_default_text:0",
        "dtype": "string",
        "shape": [-1],
    }
    assert version["metadata"]["inputs"]["tokens"]["encoding"] == "concat_embedding"
    assert version["metadataSource"].endswith("explanation_metadata.json")
    assert version["attributedInputs"][0]["name"] == "tokens"


def test_version_status_route(server):
    version = server.get("/v1/models/image/versions/0").expect(200)
    assert version["version"] == 0 and version["explainable"] is True
    assert version["metadata"]["inputs"]["image"]["modality"] == "image"

    server.get("/v1/models/image/versions/7").expect_error(404, "NOT_FOUND", ["no loaded version 7", "versions: 0"])


@pytest.mark.parametrize("name", sorted(DEMO))
def test_metadata_route_gives_the_signature_defs_as_tf_serving_does(server, name):
    """TF Serving's GET .../metadata, against the SavedModel's own protos."""
    metadata = server.get(f"/v1/models/{name}/metadata").expect(200)
    assert metadata["model_spec"] == {"name": name, "signature_name": "", "version": "0"}
    assert metadata["metadata"]["signature_def"]["signature_def"] == tf_serving_signature_defs(fixture_dir(DEMO[name]))
    assert server.get(f"/v1/models/{name}/versions/0/metadata").expect(200) == metadata


def test_metadata_route_names_missing_versions_and_labels(server):
    server.get("/v1/models/image/versions/3/metadata").expect_error(404, "NOT_FOUND", ["no loaded version 3"])
    server.get("/v1/models/nope/metadata").expect_error(404, "NOT_FOUND", ["served models:"])
    server.get("/v1/models/image/labels/stable/metadata").expect_error(
        404, "NOT_FOUND", ["no version labels", "/versions/{v}"])
    server.post("/v1/models/image/metadata", {}).expect_error(405, "METHOD_NOT_ALLOWED")


def test_healthz_and_metrics(server):
    assert server.get("/healthz").expect(200) == {"status": "ok"}
    server.post("/v1/models/tabular:explain", explain_body("tabular")).expect(200)

    reply = server.get("/metrics")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
    counted = 'xaiserve_requests_total{model="tabular",method="explain:integrated-gradients",code="200"}'
    text = server.metrics_once(lambda text: counted in text)
    assert "# TYPE xaiserve_requests_total counter" in text
    assert counted in text
    assert 'xaiserve_request_duration_seconds_bucket{model="tabular",method="explain:integrated-gradients",le="+Inf"}' in text
    points = [l for l in text.splitlines() if l.startswith('xaiserve_path_points_total{model="tabular",method="explain:integrated-gradients"}')]
    assert points and int(points[0].split()[-1]) >= 4 * 51  # 50 steps: 51 path points per instance


def test_metrics_say_the_versions_running_and_serving(server):
    import time

    import tensorflow as tf

    text = server.get("/metrics").raw.decode()
    version = _xaiserve_version(server.process.args[0])
    assert f'xaiserve_build_info{{version="{version}",tensorflow="{tf.__version__}"}} 1' in text
    assert 'xaiserve_model_default_version{model="tabular"} 0' in text  # a plain SavedModel is version 0
    [start] = [float(l.split()[-1]) for l in text.splitlines() if l.startswith("process_start_time_seconds ")]
    assert time.time() - 3600 < start <= time.time()


def _xaiserve_version(binary: str) -> str:
    import subprocess

    return subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]


def test_access_log_has_one_line_per_request(server):
    before = server.log().count("GET /v1/models/image ")
    server.get("/v1/models/image")
    # The server logs a request once its response is sent, so the line may
    # come a moment after the client has the response.
    log = server.log_once(lambda log: log.count("GET /v1/models/image ") > before)
    lines = [l for l in log.splitlines() if "GET /v1/models/image " in l]
    assert len(lines) == before + 1
    assert "model=image method=get_model status=200 latency_ms=" in lines[-1]


def test_keep_alive_connection_serves_several_requests(server):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        for _ in range(3):
            connection.request("POST", "/v1/models/tabular:predict", body=json.dumps({"instances": read_instances("tabular_mlp")}))
            response = connection.getresponse()
            assert response.status == 200
            assert len(json.loads(response.read())["predictions"]) == 4
    finally:
        connection.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_example_works_as_printed(server):
    [example] = [l.strip() for l in server.stdout_lines if l.strip().startswith("curl") and ":explain" in l]

    result = subprocess.run(example, shell=True, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    [attribution] = response["explanations"][0]["attributions"]
    assert len(attribution["featureAttributions"]) == 30


def test_the_printed_web_page_url_serves_the_page(server):
    [line] = [l.strip() for l in server.stdout_lines if "the web page: open " in l]
    url = line.split("open ", 1)[1].split()[0]
    assert url == server.url + "/", line

    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert "text/html" in response.headers["Content-Type"]
        assert b"xaiserve" in response.read()


# --------------------------------------------------------------------------
# A config file, per-model default methods, and the bearer token
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server(xaiserve, tmp_path_factory):
    config = tmp_path_factory.mktemp("config") / "models.json"
    config.write_text(
        json.dumps(
            {"models": [{"name": "tabular", "base_path": str(fixture_dir("tabular_mlp")), "default_method": "sampled-shapley"}]}
        )
    )
    with running_server(
        "--config", config, "--auth-token", "let-me-in", log_dir=tmp_path_factory.mktemp("logs")
    ) as running:
        yield running


AUTH = {"Authorization": "Bearer let-me-in"}


def test_token_is_required_except_on_healthz(token_server):
    token_server.get("/v1/models").expect_error(401, "UNAUTHENTICATED", ["Authorization: Bearer"])
    token_server.get("/v1/models", headers={"Authorization": "Bearer nope"}).expect_error(401, "UNAUTHENTICATED", ["wrong"])
    token_server.post("/v1/models/tabular:predict", {"instances": []}).expect_error(401)
    token_server.get("/metrics").expect_error(401)

    assert token_server.get("/healthz").expect(200) == {"status": "ok"}
    assert [m["name"] for m in token_server.get("/v1/models", headers=AUTH).expect(200)["models"]] == ["tabular"]


def test_the_bearer_scheme_takes_more_than_one_space(token_server):
    """RFC 6750: "Bearer" 1*SP token; two spaces used to be a 401."""
    token_server.get("/v1/models", headers={"Authorization": "Bearer   let-me-in"}).expect(200)
    basic = token_server.get("/v1/models", headers={"Authorization": "Basic bGV0LW1lLWlu"})
    basic.expect_error(401, "UNAUTHENTICATED", ["'Bearer TOKEN'"])


@pytest.mark.parametrize("token", ["", " ", "let me in"])
def test_an_auth_token_that_cannot_work_is_a_usage_error(token, xaiserve):
    """--auth-token "$UNSET" ran with no authentication; a token with a space
    could never be sent."""
    result = xaiserve.run("serve", "--model", f"tabular={fixture_dir('tabular_mlp')}", "--port", "0",
                          "--auth-token", token)

    assert result.returncode == 2, result.stderr
    assert "token" in result.stderr


def test_an_empty_auth_token_in_the_environment_is_a_usage_error(xaiserve, monkeypatch):
    monkeypatch.setenv("XAISERVE_AUTH_TOKEN", "")

    result = xaiserve.run("serve", "--model", f"tabular={fixture_dir('tabular_mlp')}", "--port", "0")

    assert result.returncode == 2 and "XAISERVE_AUTH_TOKEN is set but empty" in result.stderr, result.stderr


def test_the_models_default_method_from_the_config_is_used(token_server, xaiserve):
    response = token_server.post("/v1/models/tabular:explain", explain_body("tabular"), headers=AUTH).expect(200)

    assert_equals_cli(response, xaiserve.explain("tabular_mlp", "--method", "sampled-shapley"))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_example_carries_the_token(token_server):
    [example] = [l.strip() for l in token_server.stdout_lines if l.strip().startswith("curl") and ":explain" in l]
    assert "Authorization: Bearer let-me-in" in example

    result = subprocess.run(example, shell=True, capture_output=True, text=True, timeout=60)

    assert "explanations" in json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_token_from_the_environment_is_not_printed(xaiserve, tmp_path, monkeypatch):
    """XAISERVE_AUTH_TOKEN keeps the token off the command line, but the
    start-up banner printed it on stdout, which logs collect: the commands
    printed now name the variable, and still work as printed."""
    monkeypatch.setenv("XAISERVE_AUTH_TOKEN", "env-secret-42")
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", log_dir=tmp_path) as server:
        banner = "".join(server.stdout_lines)
        assert "env-secret-42" not in banner and "env-secret-42" not in server.log()
        [example] = [l.strip() for l in server.stdout_lines if l.strip().startswith("curl") and ":explain" in l]
        assert '"Authorization: Bearer $XAISERVE_AUTH_TOKEN"' in example

        result = subprocess.run(example, shell=True, capture_output=True, text=True, timeout=60)

        assert "explanations" in json.loads(result.stdout)


def test_readyz_without_the_token_names_the_models_but_not_their_paths_or_errors(xaiserve, tmp_path):
    """/readyz is open to probes; its reasons named directories and
    TensorFlow's load errors to anyone, when the rest of the API needs the
    token. The probe port gives the same answers (its error handler used to
    replace them with "not served")."""
    broken = tmp_path / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "saved_model.pb").write_text("garbage")
    with running_server("--model", f"broken={broken.parent}", "--model", f"tabular={fixture_dir('tabular_mlp')}",
                        "--auth-token", "let-me-in", "--probe-port", "0", log_dir=tmp_path) as server:
        message = server.get("/readyz").expect_error(503, "UNAVAILABLE", ["model 'broken' has no version serving"])
        assert str(tmp_path) not in message and "saved_model" not in message, message
        detailed = server.get("/readyz", headers=AUTH).expect_error(503, "UNAVAILABLE")
        assert str(broken) in detailed, detailed

        [probe_port] = [int(m.group(1)) for l in server.stdout_lines if (m := re.search(r"also on port (\d+)", l))]
        probe = copy.copy(server)  # the same requests, to the probe port
        probe.port = probe_port
        assert probe.get("/readyz").expect_error(503, "UNAVAILABLE") == message
        probe.get("/metrics").expect_error(401, "UNAUTHENTICATED", ["Authorization: Bearer"])
        assert "xaiserve_requests_total" in probe.get("/metrics", headers=AUTH).raw.decode()


# What google-cloud-aiplatform 2.7.0's ExplanationMetadata.to_json() writes
# (enums as numbers, every field at its default written out) for the two
# demo models' metadata: shapes_cnn's image in [0, 1] drawn as viridis pixels
# over grayscale with the default clip bounds, and tabular_mlp's features.
SDK_TO_JSON_IMAGE = """{"inputs": {"image": {"inputTensorName": "image", "modality": "image",
  "featureValueDomain": {"maxValue": 1.0, "minValue": 0.0, "originalMean": 0.0, "originalStddev": 0.0},
  "visualization": {"type": 1, "polarity": 1, "colorMap": 2, "overlayType": 3, "clipPercentUpperbound": 0.0,
                    "clipPercentLowerbound": 0.0},
  "inputBaselines": [], "encoding": 0, "indicesTensorName": "", "denseShapeTensorName": "", "indexFeatureMapping": [],
  "encodedTensorName": "", "encodedBaselines": [], "groupName": ""}},
 "outputs": {"probabilities": {"indexDisplayNameMapping": ["cross", "square"], "outputTensorName": "probabilities"}},
 "featureAttributionsSchemaUri": "", "latentSpaceSource": ""}"""
SDK_TO_JSON_TABULAR = """{"inputs": {"features": {"inputTensorName": "features", "encoding": 1, "inputBaselines": [],
  "modality": "", "indicesTensorName": "", "denseShapeTensorName": "", "indexFeatureMapping": [],
  "encodedTensorName": "", "encodedBaselines": [], "groupName": ""}},
 "outputs": {"probabilities": {"outputTensorName": "probabilities"}},
 "featureAttributionsSchemaUri": "", "latentSpaceSource": ""}"""


@pytest.fixture(scope="module")
def sdk_written_server(xaiserve, tmp_path_factory):
    """The demo image and tabular models with the metadata above beside them
    ("image_sdk", "tabular_sdk"), and the same models as they ship ("image",
    "tabular")."""
    root = tmp_path_factory.mktemp("sdk_metadata")
    flags = []
    for name, fixture, text in (("image_sdk", "shapes_cnn", SDK_TO_JSON_IMAGE),
                                ("tabular_sdk", "tabular_mlp", SDK_TO_JSON_TABULAR)):
        model = root / name
        model.mkdir()
        for part in ("saved_model.pb", "variables"):
            (model / part).symlink_to(fixture_dir(fixture) / part)
        (model / "explanation_metadata.json").write_text(text)
        flags += ["--model", f"{name}={model}"]
    flags += ["--model", f"image={fixture_dir('shapes_cnn')}", "--model", f"tabular={fixture_dir('tabular_mlp')}"]
    with running_server(*flags, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_metadata_from_the_cloud_sdk_s_to_json_and_a_request_at_defaults_are_read(sdk_written_server):
    """Proto3 JSON as Google's client writes it: metadata with enums as
    numbers and every default written ("encoding": 0, "inputBaselines": [],
    "modality": "", clip bounds 0.0), and requests whose fields hold their
    defaults (BlurBaselineConfig() with no sigma: no blur baseline; a
    feature's noise sigma left out: Vertex's 0.1; an empty inputBaselines:
    no override). Each answers as the plain form of the same request does."""
    server = sdk_written_server
    [image] = read_instances("shapes_cnn")[:1]
    for method in ("integratedGradientsAttribution", "xraiAttribution"):
        plain = {"instances": [image],
                 "explanationSpecOverride": {"parameters": {method: {"stepCount": 10}, "visualize": True}}}
        defaulted = copy.deepcopy(plain)
        defaulted["explanationSpecOverride"]["parameters"][method]["blurBaselineConfig"] = {}
        expected = server.post("/v1/models/image:explain", plain).expect(200)
        assert server.post("/v1/models/image_sdk:explain", defaulted).expect(200) == expected, method
        defaulted["explanationSpecOverride"]["parameters"][method]["blurBaselineConfig"] = {"maxBlurSigma": 0.0}
        assert server.post("/v1/models/image_sdk:explain", defaulted).expect(200) == expected, method

    [row] = read_instances("tabular_mlp")[:1]
    smooth = {"noisySampleCount": 0, "featureNoiseSigma": {"noiseSigma": [{"name": "features", "sigma": 0.1}]}}
    plain = {"instances": [row], "explanationSpecOverride": {
        "parameters": {"integratedGradientsAttribution": {"stepCount": 10, "smoothGradConfig": smooth}}}}
    expected = server.post("/v1/models/tabular:explain", plain).expect(200)
    for entry in ({"name": "features"}, {"name": "features", "sigma": 0.0}):
        defaulted = copy.deepcopy(plain)
        defaulted["explanationSpecOverride"]["parameters"]["integratedGradientsAttribution"]["smoothGradConfig"][
            "featureNoiseSigma"]["noiseSigma"] = [entry]
        defaulted["explanationSpecOverride"]["metadata"] = {"inputs": {"features": {"inputBaselines": []}}}
        assert server.post("/v1/models/tabular:explain", defaulted).expect(200) == expected, entry
    # The to_json() metadata leaves the baseline out: a zero baseline, as inferred metadata's.
    [attribution] = server.post("/v1/models/tabular_sdk:explain", {"instances": [row]}).expect(
        200)["explanations"][0]["attributions"]
    inferred = {"instances": [row], "explanationSpecOverride": {"metadata": {"inputs": {"features": {
        "inputBaselines": [0.0]}}}}}
    assert [attribution] == server.post("/v1/models/tabular_sdk:explain", inferred).expect(
        200)["explanations"][0]["attributions"]
