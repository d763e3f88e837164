"""The web page in a real browser: headless Chromium (Debian's `chromium`,
driven by Debian's `chromium-driver` through selenium) loads the page from
the real server on the demo models and explains the demo image (the example,
and a PNG uploaded through the file input), the demo table row and the demo
sentence, as a person would: pick the model, press Explain, look at the
prediction, the picture and the approximation error. Screenshots go to
build/test-output/screenshots/ (look at them: they are what a person sees).

Needs /usr/bin/chromium and /usr/bin/chromedriver (scripts/setup.sh installs
both) and selenium (requirements.txt); nothing is downloaded."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, REPO, fixture_dir, read_instances, running_server

CHROMIUM = Path(os.environ.get("XAISERVE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("XAISERVE_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = REPO / "build" / "test-output" / "screenshots"
WAIT_SECONDS = 30

# As root in a container: no sandbox, no GPU; and no background traffic
# (updates, sync, QUIC probes) toward a network that is not there.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server("--demo-dir", FIXTURES, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    for tool in (CHROMIUM, CHROMEDRIVER):
        assert tool.is_file(), f"{tool} is missing: scripts/setup.sh installs Debian's chromium and chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="xaiserve-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The xaiserve page in the browser, in the words of a person using it."""

    def __init__(self, driver, url: str):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.wait = WebDriverWait(driver, WAIT_SECONDS)
        driver.get_log("browser")  # drop what earlier pages logged
        driver.get(url + "/")
        self.wait.until(lambda d: d.find_elements("css selector", "#model-select option"))

    def find(self, css: str):
        return self.driver.find_element("css selector", css)

    def find_all(self, css: str):
        return self.driver.find_elements("css selector", css)

    def choose_model(self, name: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find("#model-select")).select_by_value(name)
        self.wait.until(lambda d: self.find("#model-info").text.startswith("Inputs"))
        # The demo models' first example is filled in once it arrives.
        self.wait.until(lambda d: "instances.jsonl" in self.find("#example-info").text)

    def choose_method(self, method: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find("#method-select")).select_by_value(method)

    def explain(self) -> None:
        """Presses Explain and waits for the result or an error."""
        self.driver.execute_script(
            "document.getElementById('result').hidden = true; document.getElementById('error').hidden = true;"
        )
        self.find("#explain-button").click()
        self.wait.until(lambda d: self.find("#result").is_displayed() or self.find("#error").is_displayed())

    def error(self) -> str:
        box = self.find("#error")
        return box.text if box.is_displayed() else ""

    def expect_result(self) -> None:
        assert self.error() == "", f"the page shows an error: {self.error()}"
        assert self.find("#result").is_displayed()

    def prediction(self) -> str:
        return self.find("#prediction").text

    def approximation_error(self) -> tuple[float, bool]:
        """The first entry's approximation error in percent, and whether it is flagged."""
        cell = self.find(".entry .approx-error")
        percent = float(re.match(r"[⚠\s]*([\d.e+-]+)%", cell.text).group(1))
        return percent, "warning" in cell.get_attribute("class")

    def image_loaded(self, image) -> bool:
        return self.driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", image)

    def screenshot(self, name: str) -> Path:
        self.driver.execute_script("window.scrollTo(0, 0);")
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path

    def script_errors(self) -> list[str]:
        """JavaScript errors logged by the page (failed requests the page
        handles itself, like its retries, are logged by the network, not here)."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and entry.get("source") == "javascript"
        ]


def expect_overlay(page: Page, sources=("server", "page")):
    """The image explanation: the instance and its overlay, both real images,
    the overlay rendered by the server or (a server without the renderer, or
    the box unticked) drawn in the page."""
    [overlay] = page.find_all(".entry img.overlay")
    src = overlay.get_attribute("src")
    assert src.startswith("data:image/png;base64,") and len(src) > 500, src[:100]
    assert page.image_loaded(overlay), "the overlay image did not decode"
    assert overlay.get_attribute("data-source") in sources
    [instance] = page.find_all(".entry img.input-image")
    assert page.image_loaded(instance)
    return overlay


def expect_bar_chart(page: Page, bars: int, sources=("server", "page")) -> list[str]:
    """The feature-importance chart: the server's SVG picture, or the page's
    inline SVG with `bars` bars; returns the page's bar labels (if drawn here)."""
    served = page.find_all(".entry img.bar-chart")
    assert ("server" if served else "page") in sources, f"expected a chart from {sources}"
    if served:
        src = served[0].get_attribute("src")
        assert src.startswith("data:image/svg+xml;base64,"), src[:100]
        assert b"<svg" in base64.b64decode(src.split(",", 1)[1])
        assert page.image_loaded(served[0])
        return []
    rects = page.find_all(".entry svg.bar-chart rect.bar")
    assert len(rects) == bars, f"expected {bars} bars, got {len(rects)}"
    assert all(float(r.get_attribute("width")) > 0 for r in rects)
    return [label.text for label in page.find_all(".entry svg.bar-chart .bar-label")]


def expected_class(index: int) -> str:
    return json.loads((FIXTURES / "shapes_cnn" / "shape_masks.json").read_text())[index]["class_name"]


def test_image_example(browser, server):
    page = Page(browser, server.url)
    page.choose_model("image")
    assert page.find("#image-preview").get_attribute("width") != "1", "the example image was not drawn"
    page.explain()
    page.expect_result()
    assert page.prediction().startswith(expected_class(0) + ":"), page.prediction()
    expect_overlay(page)
    percent, flagged = page.approximation_error()
    assert flagged == (percent > 5), (percent, flagged)
    assert re.search(r"Time taken: \d+ ms", page.find("#time-taken").text)
    page.screenshot("image")

    # The same, drawn in the page from featureAttributions.
    page.find("#param-visualize").click()
    page.explain()
    page.expect_result()
    expect_overlay(page, sources=("page",))
    assert "drawn in the page" in page.find(".entry figure:nth-child(2) figcaption").text
    page.screenshot("image-drawn-in-page")
    assert page.script_errors() == []


def test_image_upload(browser, server, tmp_path):
    """A PNG made from the second demo instance, uploaded through the file input."""
    from PIL import Image

    pixels = np.asarray(read_instances("shapes_cnn")[1], np.float64)
    png = tmp_path / "upload.png"
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(png)
    page = Page(browser, server.url)
    page.choose_model("image")
    page.find("#image-file").send_keys(str(png))
    page.wait.until(lambda d: "upload.png" in page.find("#image-info").text)
    page.choose_method("xrai")
    page.explain()
    page.expect_result()
    assert page.prediction().startswith(expected_class(1) + ":"), page.prediction()
    expect_overlay(page)
    assert "XRAI" in page.find("#time-taken").text
    # The page sends the file itself ({"b64": ...}) unless the server refuses
    # it, and then says so and sends the pixels it decoded.
    request_json = page.driver.execute_script("return document.getElementById('request-json').textContent;")
    assert '"b64"' in request_json or "sent the pixels it decoded" in page.find("#notice").text
    page.screenshot("image-upload-xrai")
    assert page.script_errors() == []


def test_a_transparent_png_is_the_same_image_sent_as_a_file_or_as_pixels(browser, server, tmp_path):
    """The server puts transparent pixels over white; the page put them over
    black when it sent the pixels it decoded, so one file gave two
    predictions ("cross" from the file, "square" from its pixels)."""
    from PIL import Image

    pixels = np.round(np.asarray(read_instances("shapes_cnn")[1], np.float64) * 255).astype(np.uint8)
    rgba = np.zeros(pixels.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = 255 - pixels  # dark shape; the background stored black under alpha 0
    rgba[..., 3] = np.where(pixels.mean(axis=-1) > 127, 255, 0)
    png = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(png)
    page = Page(browser, server.url)
    page.choose_model("image")
    page.find("#image-file").send_keys(str(png))
    page.wait.until(lambda d: "transparent.png" in page.find("#image-info").text)
    page.explain()
    page.expect_result()
    from_file = page.prediction()
    request_json = page.driver.execute_script("return document.getElementById('request-json').textContent;")
    assert '"b64"' in request_json, "the file itself was not sent"

    page.find("#mode-tabs button[data-mode='json']").click()  # the pixels the page decoded
    page.explain()
    page.expect_result()
    from_pixels = page.prediction()
    name_file, score_file = from_file.split(":")
    name_pixels, score_pixels = from_pixels.split(":")
    assert name_file == name_pixels and abs(float(score_file) - float(score_pixels)) < 0.01, (from_file, from_pixels)
    assert page.script_errors() == []


@pytest.mark.parametrize("orientation,image_format,name", [
    (6, "JPEG", "phone.jpg"), (3, "JPEG", "phone.jpg"), (5, "JPEG", "phone.jpg"),
    (6, "PNG", "phone.png"),   # PNG's eXIf chunk, which Chromium applies too
    (8, "JPEG", "phone.bin"),  # a JPEG under another name: found by its bytes
])
def test_a_jpeg_s_exif_orientation_is_ignored_as_the_server_ignores_it(orientation, image_format, name, browser, server,
                                                                      tmp_path):
    """A phone's JPEG stores its pixels sideways with an EXIF orientation.
    The server decodes the file as stored, as TensorFlow does; the page drew
    it turned, so its preview and the pixels it sent (JSON mode) were
    another image than the file it sent. Now the pixels are the stored ones."""
    from PIL import Image

    stored = np.zeros((32, 32, 3), np.uint8)
    stored[:, :16] = (250, 20, 20)   # left half red
    stored[:8, 16:] = (20, 20, 250)  # a blue band at the top right
    exif = Image.Exif()
    exif[0x0112] = orientation
    jpeg = tmp_path / name
    Image.fromarray(stored).save(jpeg, format=image_format, exif=exif.tobytes(),
                                 **({"quality": 98} if image_format == "JPEG" else {}))
    page = Page(browser, server.url)
    page.choose_model("image")
    page.find("#image-file").send_keys(str(jpeg))
    page.wait.until(lambda d: name in page.find("#image-info").text)
    info = page.find("#image-info").text
    page.find("#mode-tabs button[data-mode='json']").click()  # the pixels the page decoded
    page.explain()
    page.expect_result()
    request_json = page.driver.execute_script("return document.getElementById('request-json').textContent;")
    sent = np.asarray(json.loads(request_json)["instances"][0], np.float64)
    assert sent.shape == (32, 32, 3)
    difference = np.abs(sent - stored / 255.0).mean()
    assert difference < 0.05, f"the page sent other pixels than the file stores (mean difference {difference:.3f})"
    assert "EXIF orientation" in info, info
    assert page.script_errors() == []


def test_tabular_example(browser, server):
    page = Page(browser, server.url)
    page.choose_model("tabular")
    row = read_instances("tabular_mlp")[0]
    fields = page.find_all("#table-fields input")
    assert len(fields) == len(row) == 30
    assert [float(f.get_attribute("value")) for f in fields] == pytest.approx(row)
    page.explain()
    page.expect_result()
    # Classes and features named by the metadata's index_name_mapping and index_feature_mapping.
    assert re.match(r"(malignant|benign): 0\.\d+", page.prediction()), page.prediction()
    expect_bar_chart(page, bars=10)
    percent, flagged = page.approximation_error()
    assert flagged == (percent > 5)
    page.screenshot("tabular")

    # The chart drawn in the page: bars named after the form's fields, with the values sent.
    page.find("#param-visualize").click()
    page.explain()
    page.expect_result()
    labels = expect_bar_chart(page, bars=10, sources=("page",))
    names = json.loads((fixture_dir("tabular_mlp") / "explanation_metadata.json").read_text())[
        "inputs"]["features"]["index_feature_mapping"]
    assert all(label.split(" = ")[0] in names for label in labels), labels
    page.screenshot("tabular-drawn-in-page")

    # The same row by Sampled Shapley: forward passes only, and it says so.
    page.choose_method("sampled-shapley")
    page.find("#param-paths").clear()
    page.find("#param-paths").send_keys("5")
    page.explain()
    page.expect_result()
    assert "Sampled Shapley, 5 paths" in page.find("#time-taken").text
    expect_bar_chart(page, bars=10)
    assert page.script_errors() == []


def test_text_example(browser, server):
    page = Page(browser, server.url)
    page.choose_model("text")
    sentence = read_instances("text_classifier")[0]
    assert page.find("#text-fields textarea").get_attribute("value") == sentence
    page.explain()
    page.expect_result()
    assert page.prediction().startswith("positive:"), page.prediction()
    # Text charts are drawn in the page by default, one bar per word, named.
    labels = expect_bar_chart(page, bars=8, sources=("page",))  # the model reads 8 tokens
    assert "5: love" in labels, labels
    page.approximation_error()
    page.screenshot("text")

    # A sentence of one's own, its chart rendered by the server (token positions, with a legend).
    area = page.find("#text-fields textarea")
    area.clear()
    area.send_keys("boring plot and awful acting, I hate it")
    page.find("#param-visualize").click()
    page.explain()
    page.expect_result()
    assert page.prediction().startswith("negative:"), page.prediction()
    expect_bar_chart(page, bars=8, sources=("server",))
    legend = page.find(".entry .token-legend").text
    assert "6: hate" in legend and "0: boring" in legend, legend
    page.screenshot("text-rendered-by-server")
    assert page.script_errors() == []


def test_server_errors_are_shown(browser, server):
    page = Page(browser, server.url)
    page.choose_model("image")
    page.choose_method("sampled-shapley")
    page.explain()
    message = page.error()
    assert message.startswith("400 INVALID_ARGUMENT: "), message
    assert "1000" in message, message  # the server's own message: too many features for Sampled Shapley
    page.screenshot("error")

    # Raw JSON of the wrong shape: the server's message, in the page.
    page.find("#mode-tabs button[data-mode='json']").click()
    page.choose_method("integrated-gradients")
    editor = page.find("#json-instance")
    editor.clear()
    editor.send_keys("[[0.5, 0.5]]")
    page.explain()
    assert "expected shape [32,32,3]" in page.error(), page.error()
    assert page.script_errors() == []


# --------------------------------------------------------------------------
# Models that change under the page (found by exploring it in session 18)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_server(xaiserve, tmp_path_factory):
    """tabular and cnn, and a model that cannot load."""
    with running_server("--model", f"tabular={fixture_dir('tabular_mlp')}", "--model", f"cnn={fixture_dir('cnn')}",
                        "--model", f"broken={fixture_dir('unregistered_op')}",
                        log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_a_model_that_did_not_load_shows_the_server_s_reason(browser, mixed_server):
    """It showed 'Not loaded: [object Object]'."""
    from selenium.webdriver.support.ui import Select

    page = Page(browser, mixed_server.url)
    Select(page.find("#model-select")).select_by_value("broken")
    page.wait.until(lambda d: page.find("#model-info").text.startswith("Not loaded"))
    info = page.find("#model-info").text
    assert "[object Object]" not in info and "CustomSin" in info, info


def test_an_answer_for_a_model_no_longer_picked_is_not_shown(browser, mixed_server):
    """A slow explanation of cnn came back after tabular was picked and was
    shown under tabular's name. And tabular could not be explained until it
    came back: the Explain button stayed disabled."""
    from selenium.webdriver.support.ui import Select

    page = Page(browser, mixed_server.url)
    page.choose_model("cnn")
    slow = {"instances": read_instances("cnn")[:1], "parameters": {
        "topK": -1, "batchSize": 1,
        "integratedGradientsAttribution": {"stepCount": 100,
                                           "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 20}}}}
    page.find("#mode-tabs button[data-mode='json']").click()
    page.driver.execute_script("document.getElementById('json-instance').value = arguments[0];", json.dumps(slow))
    page.find("#explain-button").click()
    page.wait.until(lambda d: page.find("#busy").is_displayed())
    Select(page.find("#model-select")).select_by_value("tabular")
    page.wait.until(lambda d: page.find("#model-info").text.startswith("Inputs"))
    assert "model=cnn method=explain" not in mixed_server.log(), \
        "the cnn explanation ended before the switch: make it slower"
    assert page.find("#explain-button").is_enabled() and not page.find("#busy").is_displayed()
    mixed_server.log_once(lambda text: "model=cnn method=explain" in text, timeout=120)  # its answer came back
    time.sleep(0.5)  # for the page to have taken it
    assert not page.find("#result").is_displayed(), "cnn's answer is shown while tabular is picked"
    assert page.error() == ""
    page.explain()  # and tabular explains as usual afterwards
    page.expect_result()
    assert page.script_errors() == []
