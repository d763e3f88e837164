"""Bad usage and bad input: a message on stderr and exit code 2 (usage) or 1
(bad model or instance), never a crash."""

from __future__ import annotations

import re

import pytest

from conftest import fixture_dir, instances_file

COMMANDS = ["inspect", "predict", "explain", "metadata"]


@pytest.fixture
def write_instances(tmp_path):
    """Writes JSON Lines text to a file and returns its path."""

    def write(text: str, name: str = "instances.jsonl"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# --------------------------------------------------------------------------
# Usage (exit code 2)
# --------------------------------------------------------------------------


def test_unknown_flag(xaiserve):
    result = xaiserve.command("explain", "quadratic", "--bogus")

    result.expect_failure(exit_codes=[2], phrases=["--bogus"])


@pytest.mark.parametrize("steps", ["0", "101"])
def test_steps_out_of_range(steps, xaiserve):
    result = xaiserve.command("explain", "quadratic", "--steps", steps)

    result.expect_failure(exit_codes=[2], phrases=["--steps", steps, "[1, 100]"])


def test_steps_not_a_number(xaiserve):
    result = xaiserve.command("explain", "quadratic", "--steps", "ten")

    result.expect_failure(exit_codes=[2], phrases=["--steps", "ten"])


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_missing_instances_flag(command, xaiserve):
    result = xaiserve.run(command, fixture_dir("quadratic"))

    result.expect_failure(exit_codes=[2], phrases=["--instances"])


def test_unknown_command(xaiserve):
    result = xaiserve.run("frobnicate")

    result.expect_failure(exit_codes=[2], phrases=["frobnicate"])


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command, xaiserve):
    args = ["--help"] if command is None else [command, "--help"]
    result = xaiserve.run(*args)

    assert result.returncode == 0, str(result)
    usage = result.stdout + result.stderr
    assert "usage" in usage.lower(), str(result)
    if command is not None:
        assert command in usage
    if command in ("predict", "explain"):
        assert "--instances" in usage


# --------------------------------------------------------------------------
# Bad input (exit code 1)
# --------------------------------------------------------------------------


def test_missing_instances_file(xaiserve, tmp_path):
    missing = tmp_path / "nowhere.jsonl"

    result = xaiserve.command("explain", "quadratic", instances=missing)

    result.expect_failure(phrases=[str(missing)])


def test_malformed_json_line_names_file_and_line(xaiserve, write_instances):
    path = write_instances("[1, 2, 3]\n[1, 2\n[0, 0, 1]\n", name="broken.jsonl")

    result = xaiserve.command("explain", "quadratic", instances=path)

    result.expect_failure(phrases=["broken.jsonl"])
    assert re.search(r"(:|line )2\b", result.stderr), f"line 2 not named\n{result}"


def test_wrong_shape(xaiserve, write_instances):
    path = write_instances(str([0.5] * 29) + "\n")

    result = xaiserve.command("explain", "tabular_mlp", instances=path)

    result.expect_failure(phrases=["29", "30"])


def test_string_where_a_number_is_expected(xaiserve, write_instances):
    path = write_instances('[1.0, "two", 3.0]\n')

    result = xaiserve.command("explain", "quadratic", instances=path)

    result.expect_failure(phrases=["two"])


def test_unknown_input_key(xaiserve, write_instances):
    path = write_instances('{"not_an_input": [1.0, 2.0, 3.0]}\n')

    result = xaiserve.command("explain", "quadratic", instances=path)

    result.expect_failure(phrases=["not_an_input"])


def test_known_input_key_is_accepted(xaiserve, write_instances):
    """Counterpart of the test above: keyed by the real input name, the same
    instance explains."""
    path = write_instances('{"x": [1.0, 2.0, 3.0]}\n')

    [response] = xaiserve.explain("quadratic", instances=path)

    [entry] = response["explanations"][0]["attributions"]
    assert entry["featureAttributions"]["x"] == pytest.approx([1.5, -6.0, 1.5], abs=1e-5)


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_number_overflow(command, xaiserve, write_instances):
    path = write_instances("[1.0, 1e999, 3.0]\n")

    result = xaiserve.command(command, "quadratic", instances=path)

    result.expect_failure()


def test_output_index_out_of_range(xaiserve):
    result = xaiserve.command("explain", "tabular_mlp", "--output-indices", "5")

    result.expect_failure(exit_codes=[1, 2], phrases=["5", "range"])


def test_op_without_gradient_suggests_sampled_shapley(xaiserve):
    result = xaiserve.command("explain", "no_gradient_op")

    result.expect_failure(phrases=["Cumprod", "Sampled Shapley"])


def test_integer_input_is_not_differentiable(xaiserve):
    result = xaiserve.command("explain", "int_input")

    result.expect_failure(phrases=["ids", "int32"])


@pytest.mark.parametrize("command", COMMANDS)
def test_nonexistent_model_dir(command, xaiserve, tmp_path):
    missing = tmp_path / "no_such_model"

    if command in ("predict", "explain"):
        result = xaiserve.command(command, missing, instances=instances_file("quadratic"))
    else:
        result = xaiserve.run(command, missing)

    result.expect_failure(phrases=[str(missing)], json_stdout=command != "inspect")


def test_directory_without_saved_model(xaiserve, tmp_path):
    result = xaiserve.run("inspect", tmp_path)

    result.expect_failure(phrases=[str(tmp_path)], json_stdout=False)
