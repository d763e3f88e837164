"""Bad usage and bad input: a message on stderr and exit code 2 (usage) or 1
(bad model or instance), never a crash."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

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

    result.expect_failure(exit_codes=[2], phrases=["unknown flag --bogus"])
    assert result.stderr.count("--help") == 1, result.stderr  # one hint, not two


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


def test_a_byte_order_mark_before_a_blank_line_is_a_blank_line(xaiserve, write_instances):
    """Windows editors start a file with a UTF-8 byte order mark; on a line of its own it was a parse error."""
    path = write_instances("\ufeff\n[1, 2, 3]\n\n[0, 0, 1]\n", name="bom.jsonl")

    result = xaiserve.command("explain", "quadratic", instances=path)

    assert result.returncode == 0, result
    assert len(result.json_lines()) == 2


def test_an_instances_file_in_utf_16_is_named_as_such(xaiserve, tmp_path):
    """Windows PowerShell 5.1's `>` writes UTF-16: the message was a parse error at column 1."""
    path = tmp_path / "utf16.jsonl"
    path.write_text("[1, 2, 3]\n", encoding="utf-16")

    result = xaiserve.command("explain", "quadratic", instances=path)

    result.expect_failure(phrases=["utf16.jsonl", "looks like UTF-16", "must be UTF-8"])


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


@pytest.mark.parametrize(
    "name,phrases",
    [("saved_model.pb", ["is the SavedModel's file; give the directory that holds it"]),
     ("model.keras", ["is a Keras model file", "keras.export.ExportArchive", "tf.saved_model.save(model, DIR) (Keras 2)"]),
     ("notes.txt", ["is a file, not a model directory"])],
)
def test_a_file_given_as_the_model_says_what_to_give(name, phrases, xaiserve, tmp_path):
    """It said the file "does not exist or is not a directory"."""
    (tmp_path / name).write_text("x")

    result = xaiserve.run("inspect", tmp_path / name)

    result.expect_failure(phrases=[str(tmp_path / name), *phrases], json_stdout=False)
    assert "does not exist" not in result.stderr, result.stderr


def test_an_instances_file_given_without_its_flag_is_named(xaiserve):
    result = xaiserve.run("explain", fixture_dir("quadratic"), instances_file("quadratic"))

    result.expect_failure(exit_codes=[2], phrases=[f"give the instances as --instances {instances_file('quadratic')}"])


def test_timings_into_the_instances_file_is_refused_before_it_is_emptied(xaiserve, tmp_path):
    instances = tmp_path / "instances.jsonl"
    text = instances_file("quadratic").read_text()
    instances.write_text(text)

    result = xaiserve.command("explain", "quadratic", "--timings", tmp_path / "." / "instances.jsonl",
                              instances=instances)

    result.expect_failure(exit_codes=[2], phrases=["is the --instances file; name another file"])
    assert instances.read_text() == text  # not emptied


def test_metadata_redirected_into_the_model_directory_writes_the_template(xaiserve, tmp_path):
    """`xaiserve metadata DIR > DIR/explanation_metadata.json`: the shell
    empties the file before xaiserve reads it, which failed ("not valid
    JSON") and left every later command failing on the empty file."""
    model = tmp_path / "model"
    shutil.copytree(fixture_dir("quadratic"), model, ignore=shutil.ignore_patterns("explanation_metadata.json"))
    written = model / "explanation_metadata.json"
    expected = xaiserve.run("metadata", model).expect_success().stdout

    with written.open("w") as out:  # as the shell's redirect does
        result = subprocess.run([str(xaiserve.binary), "metadata", str(model)], stdout=out, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})

    assert result.returncode == 0, result.stderr
    assert "is empty (0 bytes), so it is ignored" in result.stderr and "--output" in result.stderr
    assert json.loads(written.read_text()) == json.loads(expected)
    xaiserve.command("explain", model, instances=instances_file("quadratic")).expect_success()


def test_baselines_as_many_scalars_as_the_input_has_values_are_noted(xaiserve, tmp_path):
    """[1, 2, 3, 4] for a [4] input is four scalar baselines (the cloud's
    reading), which users meant as one baseline: say so at load."""
    model = tmp_path / "model"
    shutil.copytree(fixture_dir("linear"), model)
    metadata = {"inputs": {"x": {"input_tensor_name": "serving_default_x:0", "input_baselines": [1, 2, 3, 4]}},
                "outputs": {"y": {"output_tensor_name": "StatefulPartitionedCall:0"}}}
    (model / "explanation_metadata.json").write_text(json.dumps(metadata))

    noted = xaiserve.command("explain", model, instances=instances_file("linear")).expect_success()
    metadata["inputs"]["x"]["input_baselines"] = [[1, 2, 3, 4]]
    (model / "explanation_metadata.json").write_text(json.dumps(metadata))
    quiet = xaiserve.command("explain", model, instances=instances_file("linear")).expect_success()

    assert "inputs.x.input_baselines lists 4 numbers for an input of 4 values per instance" in noted.stderr
    assert "wrap the list in another: [[...]]" in noted.stderr
    assert "lists 4 numbers" not in quiet.stderr


TF1_TRAIN_TAG_MODEL = """
import sys
import tensorflow as tf
tf1 = tf.compat.v1
graph = tf.Graph()
with graph.as_default(), tf1.Session(graph=graph) as session:
    x = tf1.placeholder(tf.float32, [None, 2], name="x")
    y = tf.identity(x * 2.0, name="y")
    builder = tf1.saved_model.Builder(sys.argv[1])
    signature = tf1.saved_model.predict_signature_def({"x": x}, {"y": y})
    builder.add_meta_graph_and_variables(session, ["train"], signature_def_map={"serving_default": signature})
    builder.save()
"""


@pytest.mark.parametrize(
    "kind,phrases",
    [("train-tag", ["holds no MetaGraph tagged 'serve'", "tagged {train}", "tf.saved_model.SERVING"]),
     ("empty", ["holds no MetaGraph at all (an empty file"]),
     ("not-a-proto", ["saved_model.pb is not a SavedModel (a Git LFS pointer"])],
)
def test_a_saved_model_that_cannot_serve_says_why(kind, phrases, xaiserve, tmp_path):
    """TensorFlow's own message spoke of tag sets and saved_model_cli, for a
    file that was no SavedModel at all too."""
    model = tmp_path / "model"
    if kind == "train-tag":
        subprocess.run([sys.executable, "-c", TF1_TRAIN_TAG_MODEL, str(model)], check=True, capture_output=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    else:
        model.mkdir()
        (model / "saved_model.pb").write_text("" if kind == "empty" else "version https://git-lfs.github.com/spec/v1\n")

    result = xaiserve.run("inspect", model)

    result.expect_failure(phrases=phrases, json_stdout=False)


def test_directory_without_saved_model(xaiserve, tmp_path):
    result = xaiserve.run("inspect", tmp_path)

    result.expect_failure(phrases=[str(tmp_path)], json_stdout=False)


# --------------------------------------------------------------------------
# Flags that do not fit the method, and writing the answer
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags,phrases",
    [
        (("--method", "sampled-shapley", "--steps", "5"), ["--steps does not apply to --method sampled-shapley"]),
        (("--method", "sampled-shapley", "--noise-sigma", "0.1"), ["--noise-sigma does not apply"]),
        (("--paths", "3"), ["--paths does not apply to --method integrated-gradients"]),
        (("--method", "xrai", "--paths", "3"), ["--paths does not apply to --method xrai"]),
        (("--noisy-samples", "3"), ["--noisy-samples needs --noise-sigma"]),
        (("--top-k", "2", "--output-indices", "1"), ["--top-k or --output-indices, not both"]),
        (("--output-indices", "-1"), ["--output-indices", "-1 is negative"]),
        (("--max-blur-sigma", "1e5"), ["--max-blur-sigma", "10000"]),
    ],
    ids=["steps-shapley", "noise-shapley", "paths-ig", "paths-xrai", "samples-no-sigma", "topk-and-indices",
         "negative-index", "blur-above-max"],
)
def test_flags_that_do_not_fit_are_usage_errors(flags, phrases, xaiserve):
    """Not ignored: a flag the method would not use is the user's mistake."""
    result = xaiserve.command("explain", "tabular_mlp", *flags)

    result.expect_failure(exit_codes=[2], phrases=phrases)
    assert result.stdout == ""


@pytest.mark.parametrize("flag", ["--version", "version"])
def test_version_names_xaiserve_and_the_tensorflow_it_runs_on(flag, xaiserve):
    import tensorflow as tf

    result = xaiserve.run(flag)

    assert result.returncode == 0, str(result)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2, str(result)
    assert lines[0].startswith("xaiserve "), str(result)
    assert lines[1] == f"TensorFlow {tf.__version__}", str(result)


def test_help_command_shows_the_commands_help(xaiserve):
    result = xaiserve.run("help", "explain")

    assert result.returncode == 0, str(result)
    assert result.stdout == xaiserve.run("explain", "--help").stdout
    assert "--output-name" in result.stdout


@pytest.mark.parametrize("command", ["explain", "predict", "inspect", "metadata"])
def test_a_full_disk_on_stdout_is_a_failure(command, xaiserve):
    """/dev/full refuses every write: the command must not exit 0."""
    import os
    import subprocess

    args = [command, fixture_dir("tabular_mlp")]
    if command in ("explain", "predict"):
        args += ["--instances", instances_file("tabular_mlp")]
    with open("/dev/full", "w") as full:
        completed = subprocess.run([str(xaiserve.binary), *map(str, args)], stdout=full, stderr=subprocess.PIPE,
                                   text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)

    assert completed.returncode == 1, completed.stderr
    assert "writing standard output failed" in completed.stderr
    if command in ("explain", "predict"):  # they counted the lines handed to a buffer: "after 1 instance"
        assert "failed after 0 instances (no line reached it): No space left on device" in completed.stderr


def test_a_reader_that_goes_away_stops_explain_with_its_timings_whole(xaiserve, tmp_path):
    """`| head -3`: SIGPIPE killed the process (exit 141) with nothing said
    and the --timings file empty (still in its buffer)."""
    import os
    import re
    import subprocess

    line = instances_file("linear").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((line + "\n") * 100_000)
    timings = tmp_path / "timings.txt"
    process = subprocess.Popen(
        [str(xaiserve.binary), "explain", fixture_dir("linear"), "--instances", instances, "--timings", timings],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    for _ in range(3):
        json.loads(process.stdout.readline())
    process.stdout.close()
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=120)

    assert code == 1, stderr
    done = re.search(r"writing standard output failed after (\d+) instances .*Broken pipe \(its reader went away",
                     stderr)
    assert done, stderr
    assert len(timings.read_text().split()) == int(done.group(1)) >= 3


def test_a_scalar_output_for_the_whole_batch_cannot_be_explained_and_inspect_says_why(xaiserve, tmp_path):
    """inspect said "ok: ... with sampled-shapley only" beside a raw TensorFlow
    error ("Negative dimension size ... row_shape"), and Sampled Shapley then failed."""
    import tensorflow as tf

    class SumOfSquares(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
        def serve(self, x):
            return {"y": tf.reduce_sum(x * x)}

    module = SumOfSquares()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": module.serve})

    inspected = xaiserve.run("inspect", tmp_path / "model")
    assert "output 'y'" in inspected.stderr and "is a scalar (shape [])" in inspected.stderr, inspected.stderr
    assert "batch-first" in inspected.stderr
    assert "Negative dimension" not in inspected.stdout + inspected.stderr
    assert "ok:" not in inspected.stdout


def test_metadata_output_to_a_full_disk_is_a_failure(xaiserve):
    """A small file's text waited in the stream's buffer: "wrote /dev/full", exit 0."""
    result = xaiserve.run("metadata", fixture_dir("linear"), "--output", "/dev/full")

    assert result.returncode == 1, result.stderr
    assert "cannot write '/dev/full': No space left on device" in result.stderr
    assert "wrote" not in result.stderr


def test_predict_warns_of_an_output_written_as_null(xaiserve, write_instances):
    """JSON has no inf or nan: the null on stdout is explained on stderr."""
    result = xaiserve.command("predict", "quadratic", instances=write_instances("[1e30, 1e30, 1e30]\n[1, 2, 3]\n"))

    result.expect_success()
    first, second = result.json_lines()
    assert first["predictions"] == [None] and second["predictions"][0] is not None
    assert "warning: instance 0: output 'y' holds" in result.stderr
    assert "instance 1" not in result.stderr


def test_output_name_picks_one_of_several_outputs(xaiserve, tmp_path):
    """Without metadata, sparse_words' two outputs are both explainable: the
    CLI names one with --output-name, as a request does with outputName."""
    import shutil

    model = tmp_path / "sparse_words"
    shutil.copytree(fixture_dir("sparse_words"), model)
    (model / "explanation_metadata.json").unlink()

    unnamed = xaiserve.command("explain", model, instances=instances_file("sparse_words"))
    unnamed.expect_failure(phrases=["several outputs", "--output-name"])
    unknown = xaiserve.command("explain", model, "--output-name", "nope", instances=instances_file("sparse_words"))
    unknown.expect_failure(phrases=["'nope'", "its outputs: "])

    named = xaiserve.command("explain", model, "--output-name", "score", instances=instances_file("sparse_words"))
    named.expect_success()
    response = named.json_lines()[0]
    assert response["explanations"][0]["attributions"][0]["outputName"] == "score"


@pytest.mark.parametrize(
    "inputs,outputs,phrases",
    [
        ({"features": {"input_tensor_name": "features"}, "again": {"input_tensor_name": "serving_default_features:0"}},
         {"probabilities": {"output_tensor_name": "probabilities"}}, ["both name tensor 'serving_default_features:0'"]),
        ({"features": {"input_tensor_name": "features"}}, {"p": {"output_tensor_name": "serving_default_features:0"}},
         ["outputs.p.output_tensor_name", "which inputs.features attributes"]),
        ({"features": {"input_tensor_name": "features", "encoding": "bag_of_features",
                       "index_feature_mapping": ["a", "b", "c"]}}, {"probabilities": {}},
         ["index_feature_mapping has 3 names", "30 features"]),
        # A baseline that cannot fit the input used to pass inspect and then
        # fail every explanation as if the request were wrong.
        ({"features": {"input_tensor_name": "features", "input_baselines": [[1, 2, 3]]}}, {"probabilities": {}},
         ["inputs.features.input_baselines", "baseline has shape [3]", "[30] per instance"]),
        ({"features": {"input_tensor_name": "features", "input_baselines": [1e39]}}, {"probabilities": {}},
         ["inputs.features.input_baselines", "overflows float32"]),
        ({"features": {"input_tensor_name": "features", "index_feature_mapping": ["a", "b"]}}, {"probabilities": {}},
         ["inputs.features.index_feature_mapping has 2 names", "30 values per instance"]),
    ],
    ids=["two-inputs-one-tensor", "output-is-an-input", "too-few-feature-names", "baseline-misshapen",
         "baseline-overflows", "identity-names-miscounted"],
)
def test_metadata_that_could_not_explain_is_refused_at_load(inputs, outputs, phrases, xaiserve, tmp_path):
    """inspect used to say ok and explain then failed (or dropped names)."""
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"inputs": inputs, "outputs": outputs}))

    result = xaiserve.run("inspect", fixture_dir("tabular_mlp"), "--metadata", metadata)

    result.expect_failure(phrases=phrases, json_stdout=False)


def test_a_bad_visualization_in_the_metadata_is_refused_at_load(xaiserve, tmp_path):
    """Not only once a picture is asked for (--visualize, "visualize": true)."""
    metadata = json.loads((fixture_dir("shapes_cnn") / "explanation_metadata.json").read_text())
    [name] = metadata["inputs"]
    metadata["inputs"][name]["visualization"] = {"color_map": "nope"}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(metadata))

    result = xaiserve.command("explain", "shapes_cnn", "--metadata", path)

    result.expect_failure(phrases=[f"inputs.{name}.visualization.color_map", "nope"])
    assert result.stdout == ""


def test_directories_where_files_belong_are_named(xaiserve, tmp_path):
    instances = xaiserve.command("explain", "tabular_mlp", instances=tmp_path)
    instances.expect_failure(phrases=[f"instances file '{tmp_path}' is a directory"])
    metadata = xaiserve.run("inspect", fixture_dir("tabular_mlp"), "--metadata", tmp_path)
    metadata.expect_failure(phrases=[f"metadata file '{tmp_path}' is a directory"], json_stdout=False)
    picture_file = tmp_path / "a_file"
    picture_file.write_text("")
    visualize = xaiserve.command("explain", "tabular_mlp", "--visualize", picture_file)
    visualize.expect_failure(exit_codes=[2], phrases=["--visualize", "is a file"])
    assert visualize.stdout == ""


def test_a_target_error_not_reached_is_a_warning(xaiserve, write_instances):
    """At the most steps (100), tabular_mlp's error stays above 1e-9: said."""
    one = write_instances(instances_file("tabular_mlp").read_text().splitlines()[0] + "\n")

    result = xaiserve.command("explain", "tabular_mlp", "--target-error", "1e-9", instances=one)

    result.expect_success()
    [response] = result.json_lines()
    error = response["explanations"][0]["attributions"][0]["approximationError"]
    assert error > 1e-9
    assert "is above --target-error 1e-09 at the most steps allowed (100)" in result.stderr


def test_a_saved_model_without_its_variables_is_refused_at_load(xaiserve, tmp_path):
    """Copying saved_model.pb alone: TensorFlow loads it as a model without
    variables and fails at the first run; xaiserve says what is missing."""
    import shutil

    shutil.copy(fixture_dir("tabular_mlp") / "saved_model.pb", tmp_path)

    result = xaiserve.run("inspect", tmp_path)

    result.expect_failure(phrases=["variables but no", "variables.index", "copy the whole SavedModel directory"],
                          json_stdout=False)


@pytest.mark.parametrize("command", ["inspect", "predict", "explain"])
def test_a_keras_model_whose_variables_loading_does_not_restore_is_refused_at_load(command, xaiserve):
    """A Keras 3 model saved with tf.saved_model.save: TensorFlow's C++ loader
    loads it, and every run fails; xaiserve says so when loading, with the way
    to export it."""
    args = ["--instances", fixture_dir("keras_unrestored_variables") / "instances.jsonl"] if command != "inspect" else []
    result = xaiserve.run(command, fixture_dir("keras_unrestored_variables"), *args)

    result.expect_failure(
        phrases=["does not restore", "kernel", "every run would fail", "keras.export.ExportArchive"],
        json_stdout=False,
    )


@pytest.mark.parametrize("command", ["inspect", "predict", "explain"])
@pytest.mark.parametrize(
    "fixture, phrases",
    [
        ("py_function", ["'EagerPyFunc' (in function", "tf.py_function", "Write that step with TensorFlow ops"]),
        ("unregistered_op", ["'CustomSin' (in function", "not one of TensorFlow's own ops", "TensorFlow Text"]),
    ],
)
def test_a_model_with_an_op_that_cannot_run_here_is_refused_at_load(command, fixture, phrases, xaiserve):
    """The op is in a function body, which TensorFlow's C++ loader reads only
    when it first runs: the model would load and then fail every run."""
    args = ["--instances", fixture_dir(fixture) / "instances.jsonl"] if command != "inspect" else []
    result = xaiserve.run(command, fixture_dir(fixture), *args)

    result.expect_failure(phrases=["cannot run here, so every run would fail", *phrases], json_stdout=False)


def test_an_op_tensorflow_does_not_know_in_the_main_graph_gets_the_same_advice(xaiserve, tmp_path):
    """There TensorFlow's loader stops at once; its message speaks of tf.contrib."""
    import shutil

    from tensorflow.core.protobuf import saved_model_pb2

    model = tmp_path / "model"
    shutil.copytree(fixture_dir("tf1_placeholder"), model)
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((model / "saved_model.pb").read_bytes())
    relus = [node for node in saved_model.meta_graphs[0].graph_def.node if node.op == "Relu"]
    assert relus
    for node in relus:
        node.op = "CustomRelu"
    (model / "saved_model.pb").write_bytes(saved_model.SerializeToString())

    result = xaiserve.run("inspect", model)

    result.expect_failure(phrases=["'CustomRelu'", "TensorFlow Text", "Export the model without it"], json_stdout=False)


def test_two_directories_of_one_version_are_refused(xaiserve, tmp_path):
    import shutil

    shutil.copytree(fixture_dir("tabular_mlp"), tmp_path / "1")
    shutil.copytree(fixture_dir("tabular_mlp"), tmp_path / "01")

    result = xaiserve.run("inspect", tmp_path)

    result.expect_failure(phrases=["two directories for version 1", str(tmp_path / "01"), str(tmp_path / "1")],
                          json_stdout=False)


def test_flags_checked_before_any_explaining(xaiserve, tmp_path):
    """--max-blur-sigma with Sampled Shapley is a usage error like other flags
    the method does not use; a --visualize directory that cannot be made
    stops the command before the first instance's line (it used to come
    after it)."""
    blur = xaiserve.command("explain", "cnn", "--method", "sampled-shapley", "--max-blur-sigma", "1")
    assert blur.returncode == 2, blur.stderr
    assert "--max-blur-sigma does not apply to --method sampled-shapley" in blur.stderr

    blocker = tmp_path / "file"
    blocker.write_text("")
    pictures = xaiserve.command("explain", "tabular_mlp", "--visualize", blocker / "pictures")
    pictures.expect_failure(phrases=["cannot create --visualize directory"])
    assert pictures.stdout == ""


def test_tensorflow_start_up_notice_is_quiet_by_default(xaiserve):
    """TensorFlow's oneDNN INFO notice came on every command, before main
    could set the log level (src/runtime/quiet_tensorflow.cc)."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([str(xaiserve.binary), "help"], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = subprocess.run([str(xaiserve.binary), "help"], capture_output=True, text=True,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert "oneDNN" in loud.stderr


@pytest.mark.parametrize(
    "config,phrases",
    [
        (None, ["is a directory"]),
        ({"models": [{"base_path": "m"}]}, ['models[0] needs "name"']),
        ({"models": [{"name": "m"}]}, ['models[0] needs "base_path"']),
        ({"models": [{"name": "m", "base_path": "m", "extra": 1}]}, ["extra"]),
        ({"models": [{"name": "m", "base_path": "m", "model_platform": "pytorch"}]},
         ['model_platform is "pytorch"', 'TensorFlow SavedModels only ("tensorflow")']),
        ({"model_config_list": {"config": []}}, ["config.json: model_config_list.config must be a non-empty list"]),
        ({"model_config_list": {"config": [{"name": "m", "base_path": "m", "extra": 1}]}},
         ["config.json: model_config_list.config[0]", "extra"]),
        ({"models": [{"name": "m", "base_path": "m"}], "model_config_list": {"config": [{"name": "m", "base_path": "m"}]}},
         ['give "models" or TF Serving\'s "model_config_list", not both']),
    ],
    ids=["a-directory", "no-name", "no-base-path", "unknown-field", "other-platform", "empty-config-list",
         "config-list-unknown-field", "both-forms"],
)
def test_a_bad_serve_config_is_named_before_anything_loads(config, phrases, xaiserve, tmp_path):
    path = tmp_path / "config.json"
    if config is None:
        path.mkdir()
    else:
        path.write_text(json.dumps(config))

    result = xaiserve.run("serve", "--config", path, "--port", "0")

    assert result.returncode == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("length", [129, 10_000])
def test_a_model_name_too_long_is_refused_saying_the_limit_and_quoting_only_its_start(length, xaiserve, tmp_path):
    """A 129-character name was refused as not holding only letters, digits, '.',
    '_' and '-', which it did, and a 10,000-character one was quoted whole."""
    name = "m" * length
    flag = xaiserve.run("serve", "--model", f"{name}={fixture_dir('tabular_mlp')}", "--port", "0")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"models": [{"name": name, "base_path": str(fixture_dir("tabular_mlp"))}]}))
    from_config = xaiserve.run("serve", "--config", config, "--port", "0")

    assert flag.returncode == 2 and from_config.returncode == 1, (flag.stderr, from_config.stderr)
    for result in (flag, from_config):
        assert "is longer than 128 characters" in result.stderr, result.stderr
        assert f"'{'m' * 40}... ({length} bytes in all)'" in result.stderr, result.stderr
        assert len(result.stderr) < 1000, result.stderr[:300]
    assert "1 to 128 letters, digits" in xaiserve.run("serve", "--help").stdout


@pytest.mark.parametrize("directory,held", [("glob_br[ab]", "'[', ']'"), ("glob_bs\\x", "'\\'")])
def test_a_model_path_with_glob_characters_says_why_it_cannot_load(directory, held, xaiserve, tmp_path):
    """TensorFlow reads the variables' path as a glob pattern: "Unsuccessful
    TensorSliceReader constructor: Failed to find any matching files for
    .../glob_br[ab]/variables/variables" and a tab-indented [[{{node ...}}]]."""
    model = tmp_path / directory
    shutil.copytree(fixture_dir("tabular_mlp"), model)

    failed = xaiserve.run("predict", model, "--instances", instances_file("tabular_mlp"))

    failed.expect_failure(phrases=[f"its path holds {held}, which TensorFlow reads as a file-name pattern",
                                   "rename the directory", f"ln -s '{model}' /tmp/model"])
    assert "\t" not in failed.stderr and "TensorSliceReader" not in failed.stderr, failed.stderr
    # The advice works: a symbolic link whose path has no glob characters.
    (tmp_path / "model").symlink_to(model)
    xaiserve.run("predict", tmp_path / "model", "--instances", instances_file("tabular_mlp")).expect_success()


def test_predict_says_how_to_batch_instances_of_varying_length(xaiserve, tmp_path):
    """A model of variable-length inputs: instances of different lengths
    cannot share a batch, and the message used to speak of a "request"."""
    import tensorflow as tf

    class Sum(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
        def serve(self, x):
            return {"total": tf.reduce_sum(x, axis=1)}

    module = Sum()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": module.serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text("[1, 2]\n[1, 2, 3]\n")

    together = xaiserve.run("predict", tmp_path / "model", "--instances", instances)
    together.expect_failure(phrases=["instances 0-1 are predicted in one batch", "--batch-size 1"])
    apart = xaiserve.run("predict", tmp_path / "model", "--instances", instances, "--batch-size", "1").expect_success()
    assert [line["predictions"][0] for line in apart.json_lines()] == [3.0, 6.0]


def test_an_address_that_cannot_be_listened_on_is_named_before_models_load(xaiserve):
    """The address was bound after every model had loaded (seconds on a large one)."""
    result = xaiserve.run("serve", "--model", f"tabular={fixture_dir('tabular_mlp')}", "--host", "999.1.1.1",
                          "--port", "0")

    assert result.returncode == 1
    assert "cannot listen on 999.1.1.1" in result.stderr and "loaded" not in result.stderr, result.stderr
    assert "a --host that names an address of this machine" in result.stderr


def test_a_poll_interval_that_would_spin_is_refused(xaiserve):
    """--poll-seconds 1e-9 was taken and kept most of a core walking the model's files."""
    result = xaiserve.run("serve", "--poll-seconds", "1e-9", "--port", "0")

    assert result.returncode == 2, result.stderr
    assert "--poll-seconds 1e-09 is below 0.05; give 0 (never check) or at least 0.05" in result.stderr


def test_an_int64_output_beyond_two_to_the_53_is_refused_not_rounded(xaiserve, tmp_path):
    """Values are held as float64: 10^16 + 1 came back as 10^16 with no word."""
    import tensorflow as tf

    class Scale(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.int64)])
        def serve(self, x):
            return {"id": x * 1_000_000_000_000 + 1}

    module = Scale()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": module.serve})
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text("[1]\n")
    large.write_text("[10000]\n")

    exact = xaiserve.run("predict", tmp_path / "model", "--instances", small).expect_success()
    assert exact.json_lines()[0]["predictions"] == [[1_000_000_000_001]]
    beyond = xaiserve.run("predict", tmp_path / "model", "--instances", large)
    beyond.expect_failure(phrases=["model output", "10000000000000001", "beyond 2^53"])


@pytest.fixture(scope="module")
def scalar_input_model(tmp_path_factory):
    """serving_default(x f32[N,3], temperature f32[]) -> y f32[N,2]: a scalar
    input has no batch dimension, so instances cannot be stacked into it."""
    import numpy as np
    import tensorflow as tf

    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 4)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"),
                                  tf.TensorSpec([], tf.float32, name="temperature")])
    def serve(x, temperature):
        return {"y": tf.nn.softmax(tf.matmul(x, w) / temperature)}

    module = tf.Module()
    module.w = w
    path = tmp_path_factory.mktemp("scalar_input") / "model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    instances = path.parent / "instances.jsonl"
    instances.write_text(json.dumps({"x": [1.0, 2.0, 3.0], "temperature": 0.5}) + "\n"
                         + json.dumps({"x": [0.5, -1.0, 2.0], "temperature": 0.5}) + "\n")
    return path, instances


@pytest.mark.parametrize("command", ["inspect", "predict", "explain"])
def test_a_scalar_signature_input_is_refused_naming_it(command, scalar_input_model, xaiserve):
    """Fed a batch of two, TensorFlow broadcast the scalar input: a model
    with only a scalar input silently lost output values, and this one failed
    inside the graph ("Incompatible shapes")."""
    model, instances = scalar_input_model
    args = ["--instances", instances] if command != "inspect" else []

    result = xaiserve.run(command, model, *args)

    result.expect_failure(phrases=["input 'temperature' is a scalar (shape [])", "shape [None] for 'temperature'"],
                          json_stdout=False)


def test_custom_gradients_the_model_saves_are_noted_by_inspect_and_explain(xaiserve):
    """keras_activations saves swish's tf.custom_gradient: xaiserve applies
    the forward ops' derivative instead (the same, for swish; not for a
    straight-through estimator), and says so. tabular_mlp saves none."""
    fixture = fixture_dir("keras_activations")
    inspected = xaiserve.run("inspect", fixture).expect_success().stdout
    explained = xaiserve.run("explain", fixture, "--instances", fixture / "instances.jsonl").expect_success()
    shapley = xaiserve.run("explain", fixture, "--instances", fixture / "instances.jsonl",
                           "--method", "sampled-shapley").expect_success()
    plain = xaiserve.run("inspect", fixture_dir("tabular_mlp")).expect_success().stdout

    note = "registers 2 custom gradients (tf.custom_gradient), which gradient methods do not apply"
    assert note in inspected.split("gradients: ok")[1]
    assert "warning: the SavedModel " + note in explained.stderr
    assert "custom gradient" not in shapley.stderr  # forward passes only: nothing to warn of
    assert "custom gradient" not in plain


def test_predict_without_serving_default_names_the_cli_flag_and_the_keys(xaiserve, tmp_path):
    import tensorflow as tf

    spec = tf.TensorSpec([None, 2], tf.float32, name="x")
    signatures = {"logits": tf.function(lambda x: {"y": 2 * x}, input_signature=[spec]),
                  "probs": tf.function(lambda x: {"y": tf.nn.softmax(x)}, input_signature=[spec])}
    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures=signatures)
    (tmp_path / "instances.jsonl").write_text("[1.0, 2.0]\n")

    result = xaiserve.run("predict", tmp_path / "model", "--instances", tmp_path / "instances.jsonl")

    result.expect_failure(phrases=["no 'serving_default' signature", "--signature", "logits, probs"],
                          json_stdout=False)
    chosen = xaiserve.run("predict", tmp_path / "model", "--instances", tmp_path / "instances.jsonl",
                          "--signature", "logits").expect_success()
    assert json.loads(chosen.stdout)["predictions"] == [[2.0, 4.0]]


def test_an_input_that_reaches_the_output_only_without_gradients_is_named(xaiserve, tmp_path):
    """b reaches the output only through a bucketing (as in Keras
    Discretization): its gradient is zero everywhere, so IG gives it zero
    whatever the steps, and the completeness warning alone said "raise
    --steps"."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                  tf.TensorSpec([None, 1], tf.float32, name="b")])
    def serve(a, b):
        bucket = tf.cast(tf.raw_ops.Bucketize(input=b, boundaries=[0.0, 1.0]), tf.float32)
        return {"y": tf.sigmoid(tf.reduce_sum(a, axis=1, keepdims=True) + bucket)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps({"a": [0.5, -0.25], "b": [1.5]}) + "\n")

    inspected = xaiserve.run("inspect", tmp_path / "model").expect_success().stdout
    explained = xaiserve.run("explain", tmp_path / "model", "--instances", instances).expect_success()
    shapley = xaiserve.run("explain", tmp_path / "model", "--instances", instances,
                           "--method", "sampled-shapley").expect_success()

    note = "input 'b' reaches the explained output only through ops without a gradient"
    assert note in inspected.split("gradients: ok")[1]
    assert "warning: " + note in explained.stderr
    # The completeness gap is b's share: more steps cannot close it.
    assert "more steps will not close it" in explained.stderr and "raise --steps" not in explained.stderr
    assert json.loads(explained.stdout)["explanations"][0]["attributions"][0]["featureAttributions"]["b"] == [0.0]
    assert json.loads(shapley.stdout)["explanations"][0]["attributions"][0]["featureAttributions"]["b"] != [0.0]
    assert "without a gradient" not in shapley.stderr


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_stopped_explain_leaves_whole_lines(signal_name, xaiserve, tmp_path):
    """Killed mid-run, explain left a cut-off JSON line (and a timings file
    cut mid-number): it now stops between instances, flushes, and exits with
    the signal's status."""
    import signal
    import subprocess
    import time

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((line + "\n") * 300_000)
    output, timings = tmp_path / "out.jsonl", tmp_path / "timings.txt"
    number = getattr(signal, signal_name)
    with output.open("w") as out:
        process = subprocess.Popen(
            [str(xaiserve.binary), "explain", str(fixture_dir("tabular_mlp")), "--instances", str(instances),
             "--timings", str(timings)],
            stdout=out, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored, as in a terminal
        deadline = time.monotonic() + 120
        while output.stat().st_size < 200_000 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "explain ended before it could be stopped"
        process.send_signal(number)
        stderr = process.communicate(timeout=60)[1]

    assert process.returncode == 128 + number, stderr[-2000:]
    assert f"stopped by {signal_name} after" in stderr
    lines = output.read_text().splitlines()
    assert 0 < len(lines) < 300_000
    for text in lines:
        assert json.loads(text)["explanations"]  # every line whole
    times = timings.read_text().splitlines()
    assert len(times) == len(lines) and all(float(t) > 0 for t in times)


def test_a_stop_ends_a_long_instance_at_its_next_model_run(xaiserve, tmp_path):
    """SIGTERM during one long explanation (here 10 outputs x 50 noisy
    samples x 101 path points, one row per run) used to wait for the whole
    instance, saying nothing; Docker's grace period is 10 s."""
    import signal
    import subprocess
    import time

    instances = tmp_path / "one.jsonl"
    instances.write_text((fixture_dir("cnn") / "instances.jsonl").read_text().splitlines()[0] + "\n")
    process = subprocess.Popen(
        [str(xaiserve.binary), "explain", str(fixture_dir("cnn")), "--instances", str(instances), "--top-k", "-1",
         "--steps", "100", "--noise-sigma", "0.1", "--noisy-samples", "50", "--batch-size", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # loaded, and well into the 51,000 runs
    assert process.poll() is None, "explain ended before it could be stopped"
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    waited = time.monotonic() - stopped_at

    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "stopping after the current model run" in stderr
    assert "stopped by SIGTERM after 0 of 1 instance;" in stderr
    assert stdout == ""
    assert waited < 20, f"took {waited:.1f} s to stop"  # not the instance's minutes


def test_instances_from_a_pipe_are_answered_as_they_arrive(xaiserve):
    """predict and explain read standard input a line at a time: the answer
    to a line comes before the next line is written (they used to read the
    whole input first)."""
    import subprocess

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    for command in (["explain"], ["predict", "--batch-size", "1"]):
        process = subprocess.Popen(
            [str(xaiserve.binary), command[0], str(fixture_dir("tabular_mlp")), "--instances", "-", *command[1:]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        answers = []
        try:
            for _ in range(2):
                process.stdin.write(line + "\n")
                process.stdin.flush()
                answers.append(json.loads(process.stdout.readline()))  # blocks until answered
            process.stdin.close()
            rest, stderr = process.stdout.read(), process.stderr.read()
            process.wait(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 0, stderr
        assert rest == "" and answers[0] == answers[1], command
        assert ("2 instances explained" if command[0] == "explain" else "2 instances predicted") in stderr


def test_a_stop_while_waiting_for_piped_input_is_a_stop_not_the_end(xaiserve):
    """SIGTERM while explain waited for its next line on stdin ended the read
    as if the input had ended: exit 0, as a finished run."""
    import signal
    import subprocess

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    process = subprocess.Popen(
        [str(xaiserve.binary), "explain", str(fixture_dir("tabular_mlp")), "--instances", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write(line + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["explanations"]
        process.send_signal(signal.SIGTERM)  # waiting for the second line
        stderr = process.stderr.read()
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM after 1 instance;" in stderr


def test_a_bad_line_stops_the_run_there_naming_file_and_line(xaiserve, tmp_path):
    """Instances are read in chunks as the run goes: the lines before a bad
    one in a later chunk are written whole, and the error names the line."""
    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    instances = tmp_path / "instances.jsonl"
    instances.write_text((line + "\n") * 1500 + "[1, 2]\n" + line + "\n")
    result = xaiserve.run("predict", fixture_dir("tabular_mlp"), "--instances", instances)
    result.expect_failure(phrases=[f"{instances}:1501: instance 1500", "shape"], json_stdout=False)
    written = result.stdout.splitlines()
    assert len(written) == 1472  # 23 whole batches of 64
    assert all(json.loads(text)["predictions"] for text in written)


def test_approximation_warnings_stop_at_ten_and_the_rest_are_counted(xaiserve, tmp_path):
    lines = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()
    instances = tmp_path / "instances.jsonl"
    instances.write_text("\n".join(lines * 10) + "\n")

    result = xaiserve.run("explain", fixture_dir("tabular_mlp"), "--instances", instances, "--steps", "1")

    result.expect_success()
    above = sum(entry["approximationError"] > 0.05
                for response in map(json.loads, result.stdout.splitlines())
                for entry in response["explanations"][0]["attributions"])
    assert above > 10, "the check needs more than 10 attributions above 5% with one step"
    warned = [w for w in result.stderr.splitlines() if "approximationError" in w and "% is above 5%" in w]
    assert len(warned) == 10
    assert f"warning: {above - 10} more attributions had their approximationError above 5%" in result.stderr


def test_predict_reports_progress_at_most_twice_a_second_and_names_the_failing_instances(xaiserve, tmp_path):
    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    many = tmp_path / "many.jsonl"
    many.write_text((line + "\n") * 5000)

    predicted = xaiserve.run("predict", fixture_dir("tabular_mlp"), "--instances", many).expect_success()

    progress = [p for p in predicted.stderr.splitlines() if p.startswith("xaiserve predict: ") and "/5000" in p]
    assert progress[0].endswith(" 64/5000 instances") and progress[-1].endswith(" 5000/5000 instances")
    assert len(progress) < 20, f"{len(progress)} progress lines for 79 batches"

    # int_input looks its ids up in a table of 20: instance 100 has 25.
    good = (fixture_dir("int_input") / "instances.jsonl").read_text().splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text((good + "\n") * 100 + "[19, 18, 25, 19, 17]\n")
    failed = xaiserve.run("predict", fixture_dir("int_input"), "--instances", bad)
    failed.expect_failure(phrases=["instances 64-100 (predicted as one batch; its row r is instance 64 + r)"],
                          json_stdout=False)


def explain_float16_model(xaiserve, tmp_path, output, instance: str, *flags):
    """Saves y = output(x) for a float16 x [None, width of the instance] in
    tmp_path and explains the instance; the successful Result."""
    import tensorflow as tf

    width = len(json.loads(instance))

    @tf.function(input_signature=[tf.TensorSpec([None, width], tf.float16, name="x")])
    def serve(x):
        return {"y": output(tf, x)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text(instance + "\n")
    return xaiserve.run("explain", tmp_path / "model", "--instances", instances, *flags).expect_success()


def test_a_float16_output_s_rounding_is_named_not_the_steps(xaiserve, tmp_path):
    """1000 + 0.5 * sum(x) in float16: the attributions are exact, but f(x)
    rounds (1000.6 to 1000.5), so the completeness gap is rounding, which
    the warning blamed on too few steps."""
    result = explain_float16_model(
        xaiserve, tmp_path,
        lambda tf, x: tf.constant(1000.0, tf.float16) + tf.constant(0.5, tf.float16) * tf.reduce_sum(x, axis=1),
        "[0.3, 0.4, 0.5]")
    [entry] = json.loads(result.stdout)["explanations"][0]["attributions"]
    assert entry["featureAttributions"] == pytest.approx([0.15, 0.2, 0.25], abs=1e-3)
    assert entry["approximationError"] > 0.05
    assert "the output is float16, whose rounding" in result.stderr and "raise --steps" not in result.stderr


def test_a_float16_output_s_gap_far_above_its_rounding_asks_for_more_steps(xaiserve, tmp_path):
    """x^3 at 2 from 0 in one trapezoid step: the attributions sum to 12 for
    f(x) - f(b) = 8, a gap of 4 that float16's rounding of 8 (an ulp of
    1/128) cannot make. The warning blamed rounding whatever the gap."""
    result = explain_float16_model(xaiserve, tmp_path, lambda tf, x: tf.reduce_sum(x * x * x, axis=1), "[2.0]",
                                   "--steps", 1)
    [entry] = json.loads(result.stdout)["explanations"][0]["attributions"]
    assert entry["approximationError"] == pytest.approx(0.5)
    assert "50% is above 5%; raise --steps" in result.stderr and "rounding" not in result.stderr


def test_sampled_shapley_on_a_float16_output_asks_for_more_paths(xaiserve, tmp_path):
    """Sampled Shapley's attributions sum to f(x) - f(b) exactly; its error is
    the permutations' spread, which more paths narrow. On a float16 output
    the warning spoke of rounding and of steps, Integrated Gradients' flag."""
    result = explain_float16_model(xaiserve, tmp_path, lambda tf, x: tf.reduce_prod(x, axis=1),
                                   "[1.0, 2.0, 3.0, 4.0]", "--method", "sampled-shapley", "--paths", 2)
    [entry] = json.loads(result.stdout)["explanations"][0]["attributions"]
    assert entry["approximationError"] > 0.05
    [warning] = [line for line in result.stderr.splitlines() if "approximationError" in line]
    assert "raise --paths" in warning and "rounding" not in warning and "steps" not in warning


@pytest.mark.parametrize("flags", [(), ("--top-k", 1, "--batch-size", 7)], ids=["default", "instance-appended"])
def test_a_non_finite_gradient_names_the_output_element_explained(flags, xaiserve, tmp_path, write_instances):
    """Outputs [x0, sqrt(x0 + x1)]: at [1, 3] the top one is element 1, whose
    gradient is inf at the zero baseline. The message said where on the
    path, not which output element was being explained (the path run
    chooses it, and the methods ask for "element 0, the chosen one")."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(x):
        return {"y": tf.stack([x[:, 0], tf.sqrt(x[:, 0] + x[:, 1])], axis=1)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    result = xaiserve.run("explain", tmp_path / "model", "--instances", write_instances("[1.0, 3.0]\n"), *flags)
    result.expect_failure(phrases=["gradient of input 0 is inf at the baseline (the path's start, alpha = 0), "
                                   "for output element 1;"])


@pytest.mark.parametrize("flags", [(), ("--method", "sampled-shapley"), ("--top-k", 2)],
                         ids=["ig", "shapley", "ig-top-2"])
def test_an_output_with_no_elements_per_instance_is_refused_plainly(flags, xaiserve, tmp_path, write_instances):
    """An output of static shape [N, 0]: Integrated Gradients at the default
    top 1 failed with TensorFlow's "Reduction axis 1 is empty", naming a node
    of xaiserve's gradient graph; the other ways said it plainly."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(x):
        return {"y": x[:, :0]}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    result = xaiserve.run("explain", tmp_path / "model", "--instances", write_instances("[0.3, -1.2, 0.7, 2.1]\n"),
                          *flags)
    result.expect_failure(phrases=["no output elements to explain; expected at least one"])
    assert "Reduction axis" not in result.stderr and "xai_gradients" not in result.stderr


TF1_KEYS_LIKE_TENSOR_NAMES_MODEL = """
import sys
import tensorflow as tf
tf1 = tf.compat.v1
graph = tf.Graph()
with graph.as_default(), tf1.Session(graph=graph) as session:
    x = tf1.placeholder(tf.float32, [None, 3], name="x")
    other = tf1.placeholder(tf.float32, [None, 3], name="other")
    y = tf.reduce_sum(2.0 * other + x * x, axis=1, name="y")
    builder = tf1.saved_model.Builder(sys.argv[1])
    # The key "x:0" is the tensor other:0; the tensor x:0 is under another key.
    signature = tf1.saved_model.predict_signature_def({"x:0": other, "temperature": x}, {"y": y})
    builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
    builder.save()
"""


def test_a_signature_key_that_reads_like_another_tensor_s_name_is_the_key(xaiserve, tmp_path):
    """Inferred metadata names inputs by their keys; a TF1 key "x:0" was
    taken as the graph tensor x:0, which another key feeds, and the model
    could not be explained ("both name tensor 'x:0'"), nor `metadata` print."""
    model = tmp_path / "model"
    subprocess.run([sys.executable, "-c", TF1_KEYS_LIKE_TENSOR_NAMES_MODEL, str(model)], check=True,
                   capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps({"x:0": [1.0, 2.0, 3.0], "temperature": [1.0, 2.0, 3.0]}) + "\n")

    xaiserve.run("metadata", model).expect_success()
    [response] = xaiserve.command("explain", model, instances=instances).expect_success().json_lines()

    # y = sum(2 other + x^2): IG from zero is 2 other and x^2 (the trapezoid
    # rule is exact for x^2's gradient, linear along the path).
    attributions = response["explanations"][0]["attributions"][0]["featureAttributions"]
    assert attributions["x:0"] == pytest.approx([2.0, 4.0, 6.0], rel=1e-6)
    assert attributions["temperature"] == pytest.approx([1.0, 4.0, 9.0], rel=1e-6)


def test_an_output_zero_at_both_ends_gets_a_finite_error_and_says_why(xaiserve, tmp_path):
    """y = 100 (x^3 - x^2) at 1 from the zero baseline: f(x) = f(b) = 0, and
    one trapezoid step attributes 50. approximationError was inf (null in
    the JSON), and the warning said 'inf% ... raise --steps'."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
    def serve(x):
        return {"y": 100.0 * (x**3 - x**2)}

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"), signatures={"serving_default": serve})
    instances = tmp_path / "instances.jsonl"
    instances.write_text("[1.0]\n")
    result = xaiserve.run("explain", tmp_path / "model", "--instances", instances, "--steps", "1").expect_success()
    entry = json.loads(result.stdout)["explanations"][0]["attributions"][0]
    assert entry["instanceOutputValue"] == 0.0 and entry["baselineOutputValue"] == 0.0
    assert isinstance(entry["approximationError"], float) and entry["approximationError"] > 1e6, entry
    assert "is not a percentage, as f(x) and f(baseline) are both 0" in result.stderr
    assert "inf%" not in result.stderr


@pytest.mark.parametrize("command", [["explain"], ["predict", "--batch-size", "1"]])
def test_a_non_blocking_stdin_is_waited_for_not_taken_as_its_end(command, xaiserve):
    """A parent that set O_NONBLOCK on the pipe's read end made read(0) fail
    with EAGAIN whenever the writer was behind, which was taken as the end of
    the input: 1 of 4 lines answered, '1 instance explained', exit 0."""
    import subprocess
    import time

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        process = subprocess.Popen(
            [str(xaiserve.binary), command[0], str(fixture_dir("tabular_mlp")), "--instances", "-", *command[1:]],
            stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(read_end)
    try:
        os.write(write_end, (line + "\n").encode())
        first = json.loads(process.stdout.readline())  # answered, so it is reading again
        try:
            time.sleep(0.3)  # the writer is behind
            os.write(write_end, (line + "\n" + line + "\n").encode())
            time.sleep(0.3)
            os.write(write_end, (line + "\n").encode())
        except BrokenPipeError:
            pass  # it stopped reading: the count below says so
        os.close(write_end)
        rest, stderr = process.communicate(timeout=120)
    finally:
        process.kill()

    assert process.returncode == 0, stderr
    lines = [first, *map(json.loads, rest.splitlines())]
    assert len(lines) == 4 and all(answer == first for answer in lines), stderr
    assert ("4 instances explained" if command[0] == "explain" else "4 instances predicted") in stderr


@pytest.mark.parametrize("stdin, phrases", [
    ("directory", ["cannot read instances from stdin: Is a directory"]),
    # Closed at the start, descriptor 0 is soon an eventfd the libraries opened.
    ("closed", ["cannot read instances from stdin: ", "standard input is closed"]),
])
def test_stdin_that_cannot_be_read_is_named_not_taken_as_empty(stdin, phrases, xaiserve, tmp_path):
    """`--instances - < somedir` and `<&-` said 'stdin: no instances', as if
    the input had been empty, and never why it could not be read."""
    import subprocess

    for command in ("explain", "predict"):
        args = [str(xaiserve.binary), command, str(fixture_dir("tabular_mlp")), "--instances", "-"]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        if stdin == "directory":
            descriptor = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                completed = subprocess.run(args, stdin=descriptor, capture_output=True, text=True, env=env, timeout=120)
            finally:
                os.close(descriptor)
        else:
            completed = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                                       timeout=120, preexec_fn=lambda: os.close(0))

        assert completed.returncode == 1, completed.stderr
        for phrase in phrases:
            assert phrase in completed.stderr
        assert "no instances" not in completed.stderr
        assert completed.stdout == ""


@pytest.mark.parametrize("command", ["explain", "predict"])
def test_a_write_that_fails_part_way_leaves_whole_lines_and_counts_them(command, xaiserve, tmp_path):
    """A full disk (here a file size limit, with SIGXFSZ ignored as a parent
    may leave it): explain said 'failed after 200 instances' where the file
    held 12 whole lines and a cut-off 13th (std::cout's buffer went out in
    pieces), predict 'after 256' with 217 whole. The count is now of the
    whole lines in the file, which ends with one, and --timings holds as
    many times."""
    import resource
    import signal
    import subprocess

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((line + "\n") * 2000)
    output, timings = tmp_path / "out.jsonl", tmp_path / "timings.txt"
    limit = 50_000

    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = [str(xaiserve.binary), command, str(fixture_dir("tabular_mlp")), "--instances", str(instances)]
    if command == "explain":
        args += ["--timings", str(timings)]
    with output.open("w") as out:
        completed = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, text=True, timeout=300,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, preexec_fn=limit_files,
                                   restore_signals=False)

    assert completed.returncode == 1, completed.stderr
    done = re.search(r"writing standard output failed after (\d+) instances \(the output holds their \1 lines "
                     r"whole\): File too large \(past the file size limit, ulimit -f", completed.stderr)
    assert done, completed.stderr
    text = output.read_text()
    assert text.endswith("\n") and 0 < len(text) <= limit
    lines = text.splitlines()
    assert len(lines) == int(done.group(1))
    assert all(json.loads(written) for written in lines)  # every line whole
    if command == "explain":
        assert len(timings.read_text().splitlines()) == len(lines)


def test_a_timings_file_that_cannot_be_written_says_why(xaiserve):
    """It said only "--timings: writing '/dev/full' failed"."""
    result = xaiserve.run("explain", fixture_dir("tabular_mlp"), "--instances", instances_file("tabular_mlp"),
                          "--timings", "/dev/full")

    result.expect_failure(phrases=["--timings: writing '/dev/full' failed after 0 instances: No space left on device"])


def test_a_file_size_limit_is_an_error_saying_so_with_whole_lines(xaiserve, tmp_path):
    """`ulimit -f`, as batch systems set: SIGXFSZ killed explain (exit 153)
    with nothing said and its output cut mid-line."""
    import resource
    import subprocess

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((line + "\n") * 2000)
    output, timings = tmp_path / "out.jsonl", tmp_path / "timings.txt"
    limit = 50_000
    with output.open("w") as out:
        # subprocess leaves SIGXFSZ at its default in the child, as a shell does.
        completed = subprocess.run(
            [str(xaiserve.binary), "explain", str(fixture_dir("tabular_mlp")), "--instances", str(instances),
             "--timings", str(timings)],
            stdout=out, stderr=subprocess.PIPE, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))

    assert completed.returncode == 1, completed.stderr
    done = re.search(r"writing standard output failed after (\d+) instances .*: File too large \(past the file size "
                     r"limit, ulimit -f", completed.stderr)
    assert done, completed.stderr
    text = output.read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == int(done.group(1)) > 0
    assert all(json.loads(written)["explanations"] for written in lines)
    assert len(timings.read_text().splitlines()) == len(lines)


def test_a_cpu_time_limit_stops_explain_like_sigterm(xaiserve, tmp_path):
    """`ulimit -S -t`: the soft limit's SIGXCPU killed explain (exit 152) with
    nothing said, a line cut off and the --timings file empty. It now stops
    after the current instance, saying so, with whole lines and their times."""
    import resource
    import signal
    import subprocess

    line = (fixture_dir("tabular_mlp") / "instances.jsonl").read_text().splitlines()[0]
    instances = tmp_path / "many.jsonl"
    instances.write_text((line + "\n") * 100_000)  # some 10 s of CPU; loading takes about 0.4 s
    output, timings = tmp_path / "out.jsonl", tmp_path / "timings.txt"
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    with output.open("w") as out:
        completed = subprocess.run(
            [str(xaiserve.binary), "explain", str(fixture_dir("tabular_mlp")), "--instances", str(instances),
             "--timings", str(timings)],
            stdout=out, stderr=subprocess.PIPE, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (2, hard)))

    assert completed.returncode == 128 + signal.SIGXCPU, completed.stderr[-2000:]
    assert "the CPU time limit (ulimit -t) is reached: stopping after the current model run" in completed.stderr
    done = re.search(r"stopped by SIGXCPU after (\d+) of 100000 instances; each has its whole line", completed.stderr)
    assert done, completed.stderr[-2000:]
    lines = output.read_text().splitlines()
    assert 0 < len(lines) == int(done.group(1)) < 100_000
    assert all(json.loads(written)["explanations"] for written in lines)
    assert len(timings.read_text().splitlines()) == len(lines)


# Names from a model's path and metadata with terminal escapes and a newline
# that would start a line of its own: printed as they were, they recoloured
# the terminal (or cleared it) and faked lines of xaiserve's own.
ODD_OUTPUT = "probabilities\x1b[31m\nxaiserve: fake line"
ODD_DIR = "model\x1b[2J\nxaiserve: fake line"


def model_with_odd_names(tmp_path):
    model = tmp_path / ODD_DIR
    shutil.copytree(fixture_dir("tabular_mlp"), model)
    metadata_path = model / "explanation_metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["outputs"] = {ODD_OUTPUT: metadata["outputs"]["probabilities"]}
    metadata_path.write_text(json.dumps(metadata))
    return model


def assert_escaped(text: str):
    assert "\x1b" not in text, repr(text)
    assert not any(line.startswith("xaiserve: fake line") for line in text.splitlines()), text
    assert "\\x1b" in text, text


def test_names_from_the_model_and_its_metadata_are_printed_escaped(xaiserve, tmp_path):
    model = model_with_odd_names(tmp_path)

    inspected = xaiserve.run("inspect", model).expect_success()
    assert_escaped(inspected.stdout)
    assert_escaped(inspected.stderr)  # "xaiserve: loading PATH"
    refused = xaiserve.run("explain", model, "--instances", instances_file("tabular_mlp"), "--output-name", "nope")
    refused.expect_failure(phrases=["nope"])
    assert_escaped(refused.stderr)
