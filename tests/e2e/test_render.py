"""Pictures of attributions (SPEC §6): `xaiserve explain --visualize DIR`
writes a PNG per instance and output for image inputs and an SVG bar chart
for the others; over REST, "parameters": {"visualize": true} returns the same
pictures base64-encoded under each attribution's "visualizations"; and image
inputs take uploaded PNG or JPEG files as {"b64": ...}."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FIXTURES, attributions_of, fixture_dir, read_instances, running_server

SVG = "{http://www.w3.org/2000/svg}"


def picture_name(instance: int, entry: dict, input_name: str, extension: str) -> str:
    """The file name --visualize gives an attribution entry's picture."""
    index = "_".join(str(i) for i in entry.get("outputIndex", [])) or "0"
    return f"instance-{instance}-output-{index}-{input_name}.{extension}"


def explain_with_pictures(xaiserve, model: str, directory: Path, *flags) -> tuple[list[dict], str]:
    """The JSON lines and stderr of `xaiserve explain MODEL --visualize DIRECTORY FLAGS`."""
    result = xaiserve.command("explain", model, "--visualize", directory, *flags).expect_success()
    return result.json_lines(), result.stderr


def png_upload(pixels) -> dict:
    """A PNG of an image instance (values in [0, 1]) as an instance value."""
    image = Image.fromarray(np.round(np.asarray(pixels) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"b64": base64.b64encode(buffer.getvalue()).decode()}


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    """The demo server (tabular, image = shapes_cnn, text)."""
    with running_server("--demo-dir", FIXTURES, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_pictures(xaiserve, tmp_path_factory) -> dict[str, tuple[list[dict], Path, str]]:
    """--visualize on shapes_cnn with Integrated Gradients and with XRAI."""
    runs = {}
    for method in ("integrated-gradients", "xrai"):
        directory = tmp_path_factory.mktemp(method)
        lines, stderr = explain_with_pictures(xaiserve, "shapes_cnn", directory, "--method", method)
        runs[method] = (lines, directory, stderr)
    return runs


@pytest.mark.parametrize("method", ["integrated-gradients", "xrai"])
def test_visualize_writes_a_png_of_the_input_size_per_instance_and_output(image_pictures, method):
    lines, directory, stderr = image_pictures[method]
    instances = read_instances("shapes_cnn")
    assert len(lines) == len(instances)
    expected = set()
    for i, line in enumerate(lines):
        for entry in attributions_of(line):
            name = picture_name(i, entry, "image", "png")
            expected.add(name)
            path = directory / name
            assert path.is_file(), f"{name} was not written; stderr:\n{stderr}"
            assert f"wrote {path}" in stderr, "the path is printed on stderr"
            with Image.open(path) as image:
                assert image.format == "PNG"
                assert image.size == (32, 32)
                pixels = np.asarray(image.convert("RGB"))
            assert pixels.std() > 0, f"{name} is a flat picture"
    assert {p.name for p in directory.iterdir()} == expected


def test_visualize_leaves_the_json_lines_as_they_were(xaiserve, image_pictures):
    lines, _, _ = image_pictures["integrated-gradients"]
    assert lines == xaiserve.explain("shapes_cnn", "--method", "integrated-gradients")
    for line in lines:
        for entry in attributions_of(line):
            assert "visualizations" not in entry


def test_pictures_of_the_two_methods_differ(image_pictures):
    differing = 0
    ig_dir, xrai_dir = image_pictures["integrated-gradients"][1], image_pictures["xrai"][1]
    for path in sorted(ig_dir.iterdir()):
        ig = np.asarray(Image.open(path).convert("RGB"), np.int16)
        xrai = np.asarray(Image.open(xrai_dir / path.name).convert("RGB"), np.int16)
        differing += int(np.any(ig != xrai))
    assert differing == len(list(ig_dir.iterdir())), "every instance's IG picture differs from its XRAI picture"


def test_metadata_visualization_drives_the_picture(xaiserve, tmp_path):
    """shapes_cnn's metadata asks for viridis pixels over grayscale; with
    red pixels and no overlay every pixel is a shade of red."""
    metadata = json.loads((FIXTURES / "shapes_cnn" / "explanation_metadata.json").read_text())
    metadata["inputs"]["image"]["visualization"] = {"type": "pixels", "colorMap": "red", "overlayType": "none"}
    metadata_path = tmp_path / "metadata.json"
    metadata_path.write_text(json.dumps(metadata))
    lines, _ = explain_with_pictures(xaiserve, "shapes_cnn", tmp_path / "pictures", "--metadata", metadata_path)
    entry = attributions_of(lines[0])[0]
    pixels = np.asarray(Image.open(tmp_path / "pictures" / picture_name(0, entry, "image", "png")).convert("RGB"))
    assert np.all(pixels[..., 1:] == 0), "only the red channel is used"
    assert pixels[..., 0].max() == 255 and pixels[..., 0].min() == 0


def test_bad_visualization_metadata_is_named(xaiserve, tmp_path):
    metadata = json.loads((FIXTURES / "shapes_cnn" / "explanation_metadata.json").read_text())
    metadata["inputs"]["image"]["visualization"] = {"colorMap": "rainbow"}
    metadata_path = tmp_path / "metadata.json"
    metadata_path.write_text(json.dumps(metadata))
    xaiserve.command(
        "explain", "shapes_cnn", "--metadata", metadata_path, "--visualize", tmp_path / "pictures"
    ).expect_failure(phrases=["visualization.colorMap", "rainbow", "viridis"])


def bars_of(svg_path: Path) -> list[tuple[str, str]]:
    """(label, bar class) of every feature row of a bar chart SVG."""
    root = ElementTree.parse(svg_path).getroot()
    assert root.tag == f"{SVG}svg"
    rows = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "feature":
            continue
        label = group.find(f"{SVG}text[@class='label']")
        bar = group.find(f"{SVG}rect")
        assert label is not None and bar is not None, ElementTree.tostring(group)
        assert bar.find(f"{SVG}title") is not None
        rows.append((label.text, bar.get("class")))
    return rows


def test_visualize_on_tabular_writes_svg_bar_charts(xaiserve, tmp_path):
    lines, stderr = explain_with_pictures(xaiserve, "tabular_mlp", tmp_path)
    for i, line in enumerate(lines):
        [entry] = attributions_of(line)
        path = tmp_path / picture_name(i, entry, "features", "svg")
        assert path.is_file(), stderr
        bars = bars_of(path)
        assert len(bars) == 10, "the top 10 of the 30 features"
        values = np.asarray(entry["featureAttributions"], np.float64)
        top = np.argsort(-np.abs(values), kind="stable")[:10]
        names = json.loads((fixture_dir("tabular_mlp") / "explanation_metadata.json").read_text())[
            "inputs"]["features"]["index_feature_mapping"]
        assert [label for label, _ in bars] == [names[j] for j in top], "named by index_feature_mapping"
        for (label, bar_class), j in zip(bars, top):
            assert bar_class == ("bar positive" if values[j] >= 0 else "bar negative"), label


def test_visualize_on_text_and_bag_of_words_charts_tokens_and_named_features(xaiserve, tmp_path):
    lines, _ = explain_with_pictures(xaiserve, "bag_of_words", tmp_path / "bag")
    entry = attributions_of(lines[0])[0]
    labels = [label for label, _ in bars_of(tmp_path / "bag" / picture_name(0, entry, "words", "svg"))]
    assert set(labels) <= {"good", "great", "fun", "bad", "dull", "awful"} and labels

    lines, _ = explain_with_pictures(xaiserve, "text_classifier", tmp_path / "text")
    entry = attributions_of(lines[0])[0]
    labels = [label for label, _ in bars_of(tmp_path / "text" / picture_name(0, entry, "tokens", "svg"))]
    assert labels and all(label.startswith("tokens[") for label in labels)


def explain_two_inputs_with_pictures(xaiserve, tmp_path: Path, names: tuple[str, str]):
    """`explain --visualize` on a model of two tabular inputs that the metadata
    calls `names`, with two instances: the result and the pictures' names."""
    import tensorflow as tf

    class TwoInputs(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                      tf.TensorSpec([None, 2], tf.float32, name="b")])
        def serve(self, a, b):
            return {"y": tf.reduce_sum(a * [1.0, 2.0] - b * [3.0, 4.0], axis=1, keepdims=True)}

    module = TwoInputs()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": module.serve})
    (tmp_path / "model" / "explanation_metadata.json").write_text(json.dumps({
        "inputs": {names[0]: {"input_tensor_name": "a"}, names[1]: {"input_tensor_name": "b"}},
        "outputs": {"y": {"output_tensor_name": "y"}}}))
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps({"a": [1.0, 1.0], "b": [1.0, 1.0]}) + "\n" +
                         json.dumps({"a": [2.0, 1.0], "b": [1.0, 3.0]}) + "\n")
    result = xaiserve.run("explain", tmp_path / "model", "--instances", instances, "--visualize", tmp_path / "pictures")
    return result, sorted(p.name for p in (tmp_path / "pictures").iterdir())


def test_visualize_keeps_inputs_whose_names_clean_up_alike_apart(xaiserve, tmp_path):
    """Inputs "a/b" and "a_b" both became ...-a_b.svg: one chart overwrote the other."""
    result, charts = explain_two_inputs_with_pictures(xaiserve, tmp_path, ("a/b", "a_b"))

    assert result.returncode == 0, result.stderr
    assert charts[:2] == ["instance-0-output-0-a_b-2.svg", "instance-0-output-0-a_b.svg"], charts
    first = (tmp_path / "pictures" / "instance-0-output-0-a_b.svg").read_text()
    second = (tmp_path / "pictures" / "instance-0-output-0-a_b-2.svg").read_text()
    assert first != second


def test_visualize_keeps_file_names_of_long_input_names_under_the_limit(xaiserve, tmp_path):
    """A name of 232 ASCII characters (or 78 CJK ones, '_' per byte) made a file
    name over 255 bytes: the run stopped there, later instances unwritten."""
    long_ascii, long_cjk = "x" * 232, "\u540d" * 78
    result, charts = explain_two_inputs_with_pictures(xaiserve, tmp_path, (long_ascii, long_cjk))

    assert result.returncode == 0, result.stderr
    assert len(charts) == 4, charts
    assert all(len(name.encode()) <= 160 for name in charts), charts
    for instance in (0, 1):
        mine = [name for name in charts if name.startswith(f"instance-{instance}-output-0-")]
        # The first 111 bytes of the name, '-' and 8 hex digits of its hash.
        assert sorted(name[len(f"instance-{instance}-output-0-"):][:112] for name in mine) == [
            "_" * 111 + "-", "x" * 111 + "-"], mine
    # The same name, the same file name: a run again overwrites its pictures.
    again, charts_again = explain_two_inputs_with_pictures(xaiserve, tmp_path / "again", (long_ascii, long_cjk))
    assert again.returncode == 0, again.stderr
    assert charts_again == charts


def test_visualize_keeps_inputs_whose_names_differ_only_in_case_apart(xaiserve, tmp_path):
    """"Feat" and "feat" are one file on case-insensitive file systems (macOS,
    Windows): the second picture overwrote the first."""
    result, charts = explain_two_inputs_with_pictures(xaiserve, tmp_path, ("Feat", "feat"))

    assert result.returncode == 0, result.stderr
    assert charts == ["instance-0-output-0-Feat.svg", "instance-0-output-0-feat-2.svg",
                      "instance-1-output-0-Feat.svg", "instance-1-output-0-feat-2.svg"], charts


# --------------------------------------------------------------------------
# REST
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method,parameters", [
    ("integrated-gradients", {"integratedGradientsAttribution": {}}),
    ("xrai", {"xraiAttribution": {}}),
])
def test_rest_visualize_returns_the_clis_png_byte_for_byte(server, image_pictures, method, parameters):
    lines, directory, _ = image_pictures[method]
    body = {"instances": read_instances("shapes_cnn"), "parameters": {**parameters, "visualize": True}}
    response = server.post("/v1/models/image:explain", body).expect(200)
    assert len(response["explanations"]) == len(lines)
    for i, explanation in enumerate(response["explanations"]):
        for entry in explanation["attributions"]:
            visualization = entry.pop("visualizations")
            assert set(visualization) == {"image"}
            assert visualization["image"]["mimeType"] == "image/png"
            png = base64.b64decode(visualization["image"]["data"], validate=True)
            with Image.open(io.BytesIO(png)) as image:
                assert image.size == (32, 32)
            assert png == (directory / picture_name(i, entry, "image", "png")).read_bytes()
        assert explanation == lines[i]["explanations"][0], "the rest of the answer is the CLI's"


def test_rest_without_visualize_has_no_pictures(server):
    body = {"instances": read_instances("shapes_cnn")[:1], "parameters": {"visualize": False}}
    response = server.post("/v1/models/image:explain", body).expect(200)
    assert "visualizations" not in response["explanations"][0]["attributions"][0]
    response = server.post("/v1/models/image:explain", {"instances": read_instances("shapes_cnn")[:1]}).expect(200)
    assert "visualizations" not in response["explanations"][0]["attributions"][0]


def test_rest_visualize_on_tabular_and_text_returns_svg_charts(server):
    for model, input_name in (("tabular", "features"), ("text", "tokens")):
        instances = read_instances({"tabular": "tabular_mlp", "text": "text_classifier"}[model])[:2]
        response = server.post(
            f"/v1/models/{model}:explain", {"instances": instances, "parameters": {"visualize": True}}
        ).expect(200)
        for explanation in response["explanations"]:
            [entry] = explanation["attributions"]
            picture = entry["visualizations"][input_name]
            assert picture["mimeType"] == "image/svg+xml"
            root = ElementTree.fromstring(base64.b64decode(picture["data"]))
            assert root.tag == f"{SVG}svg"
            assert root.findall(f".//{SVG}rect[@class='bar positive']") + root.findall(
                f".//{SVG}rect[@class='bar negative']"
            )


def test_rest_visualize_must_be_a_boolean(server):
    body = {"instances": read_instances("shapes_cnn")[:1], "parameters": {"visualize": "yes"}}
    server.post("/v1/models/image:explain", body).expect_error(
        400, "INVALID_ARGUMENT", ["parameters.visualize must be true or false"]
    )


# --------------------------------------------------------------------------
# Image uploads
# --------------------------------------------------------------------------


def test_png_upload_predicts_as_the_nested_array(server):
    instances = read_instances("shapes_cnn")
    nested = server.post("/v1/models/image:predict", {"instances": instances}).expect(200)["predictions"]
    # Bare and keyed by input name.
    uploads = [png_upload(pixels) for pixels in instances[:2]] + [
        {"image": png_upload(pixels)} for pixels in instances[2:]
    ]
    uploaded = server.post("/v1/models/image:predict", {"instances": uploads}).expect(200)["predictions"]
    # The PNG holds round(255 x): the image differs by at most 1/255 per pixel.
    for pixels in instances:
        assert np.abs(np.round(np.asarray(pixels) * 255) / 255 - np.asarray(pixels)).max() <= 0.5 / 255 + 1e-7
    np.testing.assert_allclose(np.asarray(uploaded), np.asarray(nested), atol=1e-3)
    assert np.argmax(uploaded, axis=1).tolist() == np.argmax(nested, axis=1).tolist()


def test_png_upload_explains_and_draws_over_the_uploaded_image(server):
    instance = read_instances("shapes_cnn")[0]
    nested = server.post(
        "/v1/models/image:explain", {"instances": [instance], "parameters": {"visualize": True}}
    ).expect(200)
    uploaded = server.post(
        "/v1/models/image:explain", {"instances": [png_upload(instance)], "parameters": {"visualize": True}}
    ).expect(200)
    a, b = nested["explanations"][0]["attributions"][0], uploaded["explanations"][0]["attributions"][0]
    assert a["outputIndex"] == b["outputIndex"]
    np.testing.assert_allclose(
        np.asarray(b["featureAttributions"]), np.asarray(a["featureAttributions"]), atol=1e-3
    )
    assert b["visualizations"]["image"]["mimeType"] == "image/png"


def test_png_upload_through_the_cli(xaiserve, tmp_path):
    instances = read_instances("shapes_cnn")
    uploads = tmp_path / "uploads.jsonl"
    uploads.write_text("".join(json.dumps(png_upload(pixels)) + "\n" for pixels in instances))
    nested = xaiserve.predict("shapes_cnn")
    uploaded = xaiserve.command("predict", "shapes_cnn", instances=uploads).expect_success().json_lines()
    np.testing.assert_allclose(
        np.asarray([line["predictions"][0] for line in uploaded]),
        np.asarray([line["predictions"][0] for line in nested]),
        atol=1e-3,
    )


@pytest.mark.parametrize("mode", ["L", "RGBA", "LA", "I;16"])
def test_png_uploads_of_other_pixel_formats_give_the_same_pixels(server, mode):
    """Gray, with alpha (opaque) and 16-bit PNGs decode to the same pixels as
    the RGB PNG (shapes_cnn's images are gray)."""
    pixels = np.round(np.asarray(read_instances("shapes_cnn")[0]) * 255).astype(np.uint8)
    gray = pixels[..., 0]
    image = (
        Image.fromarray(gray.astype(np.uint16) * 257)  # 16-bit, no gamma chunk: sRGB-encoded
        if mode == "I;16"
        else Image.fromarray(pixels).convert(mode)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    upload = {"b64": base64.b64encode(buffer.getvalue()).decode()}
    reference = png_upload(pixels / 255.0)
    got, want = server.post("/v1/models/image:predict", {"instances": [upload, reference]}).expect(200)["predictions"]
    assert got == want


def test_jpeg_upload_is_decoded_and_resized(server):
    """A 64x64 JPEG for the 32x32 input: decoded, resized, and predicted."""
    pixels = np.asarray(read_instances("shapes_cnn")[0])
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    upload = {"b64": base64.b64encode(buffer.getvalue()).decode()}
    [prediction] = server.post("/v1/models/image:predict", {"instances": [upload]}).expect(200)["predictions"]
    [nested] = server.post("/v1/models/image:predict", {"instances": [pixels.tolist()]}).expect(200)["predictions"]
    assert np.argmax(prediction) == np.argmax(nested)


@pytest.mark.parametrize("instance,phrase", [
    ({"b64": base64.b64encode(b"this is not an image at all").decode()}, "not a PNG or JPEG image"),
    ({"image": {"b64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()}}, "corrupt PNG data"),
    ({"b64": base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x13" * 64).decode()}, "corrupt JPEG data"),
], ids=["text", "corrupt-png", "corrupt-jpeg"])
def test_corrupt_image_upload_is_a_400_naming_the_instance_and_input(server, instance, phrase):
    good = read_instances("shapes_cnn")[0]
    for route in ("predict", "explain"):
        server.post(f"/v1/models/image:{route}", {"instances": [good, instance]}).expect_error(
            400, "INVALID_ARGUMENT", ["instance 1", "input 'image'", phrase]
        )


def test_corrupt_image_upload_in_the_cli_is_a_clear_error(xaiserve, tmp_path):
    instances = tmp_path / "bad.jsonl"
    instances.write_text(json.dumps({"b64": base64.b64encode(b"GIF89a....").decode()}) + "\n")
    xaiserve.command("explain", "shapes_cnn", instances=instances).expect_failure(
        phrases=["instance 0", "input 'image'", "not a PNG or JPEG image"]
    )


def test_a_png_upload_feeds_a_uint8_image_input_its_bytes(xaiserve, tmp_path):
    """A model that takes uint8 images (decoding them itself, as exported
    vision models often do) refused uploads, saying only image inputs take
    them; it gets the bytes, as Python feeding the decoded PNG would."""
    import tensorflow as tf

    w = tf.constant(np.linspace(-1, 1, 4 * 4 * 3 * 2).reshape(48, 2), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 3], tf.uint8, name="image")])
    def serve(image):
        x = tf.reshape(tf.cast(image, tf.float32) / 255.0, [-1, 48])
        return {"scores": tf.nn.softmax(tf.matmul(x, w))}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    pixels = np.random.default_rng(7).random((4, 4, 3))
    upload = png_upload(pixels)
    (tmp_path / "uploads.jsonl").write_text(json.dumps(upload) + "\n")

    result = xaiserve.run("predict", tmp_path / "model", "--instances", tmp_path / "uploads.jsonl").expect_success()
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(upload["b64"]))))
    expected = serve(tf.constant(decoded[None], tf.uint8))["scores"].numpy()[0]
    np.testing.assert_allclose(json.loads(result.stdout)["predictions"][0], expected, rtol=1e-6)
