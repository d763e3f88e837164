"""A TF-Serving-style base directory with numeric version subdirectories:
the highest version loads unless --version asks for another."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import fixture_dir, instances_file, quadratic_terms, read_instances


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """9 -> quadratic, 10 -> tabular_mlp (10 is the highest although "9" sorts
    after "10" as text), and a non-numeric directory that is not a version."""
    base = tmp_path_factory.mktemp("base") / "model"
    base.mkdir()
    (base / "9").symlink_to(fixture_dir("quadratic"), target_is_directory=True)
    (base / "10").symlink_to(fixture_dir("tabular_mlp"), target_is_directory=True)
    (base / "tmp").mkdir()
    return base


def test_highest_version_serves_by_default(base_dir, xaiserve):
    versioned = xaiserve.predict(base_dir, instances=instances_file("tabular_mlp"))
    direct = xaiserve.predict("tabular_mlp")

    assert versioned == direct
    assert len(versioned) == len(read_instances("tabular_mlp"))


def test_highest_version_explains_with_its_own_metadata(base_dir, xaiserve):
    """Version 10 is tabular_mlp, whose explanation_metadata.json sits in the
    version directory: same attributions as loading tabular_mlp directly."""
    versioned = xaiserve.explain(base_dir, "--steps", 7, instances=instances_file("tabular_mlp"))
    direct = xaiserve.explain("tabular_mlp", "--steps", 7)

    assert versioned == direct


def test_version_flag_picks_another_version(base_dir, xaiserve):
    instances = read_instances("quadratic")

    lines = xaiserve.predict(base_dir, "--version", 9, instances=instances_file("quadratic"))

    predicted = np.array([line["predictions"][0] for line in lines])
    np.testing.assert_allclose(predicted, quadratic_terms(instances).sum(axis=1), rtol=1e-6, atol=1e-6)


def test_missing_version_lists_the_versions_on_disk(base_dir, xaiserve):
    result = xaiserve.run("predict", base_dir, "--version", 3, "--instances", instances_file("quadratic"))

    result.expect_failure(phrases=["3"])
    assert any(
        {"3", "9", "10"} <= set(re.findall(r"\d+", line)) for line in result.stderr.splitlines()
    ), f"the message does not name version 3 and the versions on disk (9, 10)\n{result}"


def text_form_copy(fixture: str, directory):
    """A copy of `fixture` saved in text form: saved_model.pbtxt, no saved_model.pb."""
    import shutil

    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    shutil.copytree(fixture_dir(fixture), directory)
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((directory / "saved_model.pb").read_bytes())
    (directory / "saved_model.pbtxt").write_text(text_format.MessageToString(saved_model))
    (directory / "saved_model.pb").unlink()
    return directory


def test_a_savedmodel_in_text_form_explains_as_the_binary_one(xaiserve, tmp_path):
    """TensorFlow's loader reads saved_model.pbtxt when there is no .pb (what
    tf.compat.v1.saved_model.Builder.save(as_text=True) writes)."""
    model = text_form_copy("tabular_mlp", tmp_path / "model")

    assert xaiserve.explain(model, "--steps", 7, instances=instances_file("tabular_mlp")) == xaiserve.explain(
        "tabular_mlp", "--steps", 7
    )


def test_versions_in_text_form_are_found(xaiserve, tmp_path):
    base = tmp_path / "model"
    base.mkdir()
    text_form_copy("quadratic", base / "9")
    text_form_copy("tabular_mlp", base / "10")

    assert xaiserve.predict(base, instances=instances_file("tabular_mlp")) == xaiserve.predict("tabular_mlp")
