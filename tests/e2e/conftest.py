"""Shared pieces of the end-to-end tests: the xaiserve command line, the
fixture SavedModels on disk (built by scripts/fixtures.sh) and the same
models loaded in Python.

xaiserve is taken from $XAISERVE (default build/xaiserve), the fixtures
from $XAISERVE_FIXTURES (default build/fixtures).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("XAISERVE", REPO / "build" / "xaiserve"))
FIXTURES = Path(os.environ.get("XAISERVE_FIXTURES", REPO / "build" / "fixtures"))

TF1_FIXTURES = ("tf1_placeholder", "tf1_parse_example")

# Signs of a crash rather than a handled error.
CRASH_MARKERS = (
    "terminate called",
    "Segmentation fault",
    "core dumped",
    "Aborted",
    "Traceback",
    "Check failed",
)


def fixture_dir(name: str) -> Path:
    return FIXTURES / name


def instances_file(name: str) -> Path:
    return FIXTURES / name / "instances.jsonl"


def quadratic_terms(x) -> np.ndarray:
    """The `quadratic` fixture's terms a_i x_i^2 + b_i x_i (its output is their
    sum; from a zero baseline they are also its exact attributions)."""
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([0.5, 1.0, -1.0])
    x = np.asarray(x, np.float64)
    return a * x**2 + b * x


# relu_kink: y = 2 relu(x0 - 1) + 3 relu(x1).
RELU_KINK_SCALE = np.array([2.0, 3.0])
RELU_KINK_SHIFT = np.array([-1.0, 0.0])


def relu_kink_ig(x) -> np.ndarray:
    """The `relu_kink` fixture's exact Integrated Gradients from the zero
    baseline (where f = 0): scale_i (x_i + shift_i) where that is positive."""
    x = np.asarray(x, np.float64)
    return np.where(x + RELU_KINK_SHIFT > 0, RELU_KINK_SCALE * (x + RELU_KINK_SHIFT), 0.0)


def relu_kink_trapezoid(x, steps: int) -> np.ndarray:
    """What `steps` trapezoid steps give on `relu_kink` from the zero baseline:
    x_i * sum_j w_j df/dx_i(alpha_j x), with TensorFlow's relu'(0) = 0."""
    from reference import trapezoid

    x = np.asarray(x, np.float64)
    alphas, weights = trapezoid(steps)
    points = alphas[:, np.newaxis] * x
    gradients = np.where(points + RELU_KINK_SHIFT > 0, RELU_KINK_SCALE, 0.0)
    return x * (weights @ gradients)


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_instances(name: str) -> list[Any]:
    """A fixture's request instances, one per line of its instances.jsonl."""
    return read_jsonl(instances_file(name))


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Result:
    """One finished xaiserve run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ xaiserve {' '.join(self.args)}\n"
            f"exit code {self.returncode}\nstdout: {self.stdout[:2000]}\nstderr: {self.stderr[-2000:]}"
        )

    def json_lines(self) -> list[Any]:
        """stdout as JSON Lines (stdout carries nothing else)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        try:
            return [json.loads(line) for line in lines]
        except json.JSONDecodeError as error:
            raise AssertionError(f"stdout is not JSON Lines ({error})\n{self}") from None

    def expect_success(self) -> Result:
        assert self.returncode == 0, f"xaiserve failed\n{self}"
        return self

    def expect_failure(
        self, exit_codes: Iterable[int] = (1,), phrases: Iterable[str] = (), json_stdout: bool = True
    ) -> Result:
        """A handled failure: the expected exit code, a message on stderr that
        contains every phrase, no crash, and (unless the command prints a
        report, like inspect) nothing but JSON on stdout."""
        exit_codes = tuple(exit_codes)
        assert self.returncode in exit_codes, f"expected exit code in {exit_codes}\n{self}"
        message = self.stderr.strip()
        assert message, f"no error message on stderr\n{self}"
        for marker in CRASH_MARKERS:
            assert marker not in self.stderr, f"looks like a crash ({marker!r})\n{self}"
        for phrase in phrases:
            assert phrase in self.stderr, f"stderr lacks {phrase!r}\n{self}"
        if json_stdout:
            self.json_lines()
        return self


class Xaiserve:
    """Runs the xaiserve binary; model arguments that are plain names refer
    to fixtures. explain() and predict() results are cached per arguments,
    so tests that look at the same run in different ways share one call."""

    def __init__(self, binary: Path):
        self.binary = binary
        self._cache: dict[tuple[str, ...], list[Any]] = {}

    def run(self, *args: Any, stdin: str | None = None, cwd: Path | None = None) -> Result:
        args = tuple(str(arg) for arg in args)
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        completed = subprocess.run(
            [str(self.binary), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=300,
        )
        return Result(args, completed.returncode, completed.stdout, completed.stderr)

    def command(
        self, command: str, model: str | Path, *flags: Any, instances: str | Path | None = None
    ) -> Result:
        """`xaiserve COMMAND MODEL --instances FILE FLAGS...`; a fixture name as
        model also picks that fixture's instances.jsonl unless given."""
        if isinstance(model, str) and (FIXTURES / model).is_dir():
            instances = instances or instances_file(model)
            model = fixture_dir(model)
        if instances is None:
            raise ValueError(f"no instances given for {model}")
        return self.run(command, model, "--instances", instances, *flags)

    def _cached(self, command: str, model: str | Path, flags: tuple, instances) -> list[Any]:
        key = (command, str(model), str(instances), *map(str, flags))
        if key not in self._cache:
            result = self.command(command, model, *flags, instances=instances).expect_success()
            self._cache[key] = result.json_lines()
        return self._cache[key]

    def explain(self, model: str | Path, *flags: Any, instances: str | Path | None = None) -> list[dict]:
        """One parsed :explain response per instance."""
        return self._cached("explain", model, flags, instances)

    def predict(self, model: str | Path, *flags: Any, instances: str | Path | None = None) -> list[dict]:
        """One parsed {"predictions": [...]} line per instance."""
        return self._cached("predict", model, flags, instances)


@pytest.fixture(scope="session")
def xaiserve() -> Xaiserve:
    assert BINARY.is_file(), f"{BINARY} not found: build xaiserve first (scripts/build.sh)"
    assert (FIXTURES / "quadratic").is_dir(), f"{FIXTURES} has no fixtures: run scripts/fixtures.sh"
    return Xaiserve(BINARY)


def attributions_of(response: dict) -> list[dict]:
    """The attribution entries of one :explain response line."""
    [explanation] = response["explanations"]
    return explanation["attributions"]


def only_attribution(response: dict) -> dict:
    """The single attribution entry of one :explain response line."""
    [entry] = attributions_of(response)
    return entry


def attribution_values(entry: dict, input_key: str | None = None) -> np.ndarray:
    """An entry's featureAttributions as an array: a bare nested list, or
    (input_key given) the one value of an object keyed by input_key."""
    values = entry["featureAttributions"]
    if input_key is not None:
        assert isinstance(values, dict) and list(values) == [input_key], (
            f"expected an object keyed by {input_key!r}, got {str(values)[:200]}"
        )
        values = values[input_key]
    return np.array(values, np.float64)


def write_json(path: Path, value: Any) -> Path:
    """Writes a JSON file (a metadata file for --metadata, say) and returns its path."""
    path.write_text(json.dumps(value))
    return path


# --------------------------------------------------------------------------
# The same SavedModels in Python
# --------------------------------------------------------------------------


class LoadedModels:
    """Fixture SavedModels loaded in Python on first use, each once."""

    def __init__(self):
        self._models: dict[str, Any] = {}

    def __getitem__(self, name: str):
        if name not in self._models:
            from reference import Tf1Model, Tf2Model

            loader = Tf1Model if name in TF1_FIXTURES else Tf2Model
            self._models[name] = loader(fixture_dir(name))
        return self._models[name]


@pytest.fixture(scope="module")
def tf_models() -> LoadedModels:
    return LoadedModels()
