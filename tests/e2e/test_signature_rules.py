"""Which signature predicts and which explains (SPEC §1.1), as `xaiserve
inspect` reports it and as `explain` obeys it."""

from __future__ import annotations

import dataclasses
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
