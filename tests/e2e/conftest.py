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
import time
from pathlib import Path
from typing import Any, Callable, Iterable

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


# The server's demo models (`xaiserve serve` with no --model): name -> fixture.
DEMO_MODELS = {"tabular": "tabular_mlp", "image": "shapes_cnn", "text": "text_classifier"}


def demo_model_flags(*names: str) -> list[str]:
    """`--model NAME=DIR` for the named demo models (default: all three)."""
    flags: list[str] = []
    for name in names or DEMO_MODELS:
        flags += ["--model", f"{name}={fixture_dir(DEMO_MODELS[name])}"]
    return flags


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


def tf_serving_signature_defs(model_dir: Path) -> dict:
    """A SavedModel's SignatureDefs as TF Serving's metadata route writes them
    (snake_case, every field, int64 as strings), read from saved_model.pb by
    TensorFlow's own protos; the init op's pseudo-signature and empty
    defaults left out."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((Path(model_dir) / "saved_model.pb").read_bytes())
    [meta_graph] = [m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags]
    out = {}
    for key, signature in meta_graph.signature_def.items():
        if key == "__saved_model_init_op":
            continue
        as_json = json_format.MessageToDict(
            signature, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        if not as_json.get("defaults"):
            as_json.pop("defaults", None)
        out[key] = as_json
    return out


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


# --------------------------------------------------------------------------
# The server (xaiserve serve), over loopback
# --------------------------------------------------------------------------

import contextlib  # noqa: E402  (kept with the server helpers they serve)
from typing import Iterator  # noqa: E402


class ServerProcess:
    """A running `xaiserve serve --port 0 ...` on 127.0.0.1: start() waits for
    the listening URL it prints; requests go over http.client; stop() sends
    SIGTERM and returns the exit code. The access log (stderr) goes to a file,
    so a chatty server never blocks on a full pipe."""

    START_TIMEOUT = 60.0

    def __init__(self, *args: Any, log_dir: Path, command_prefix: tuple[str, ...] = (),
                 preexec: Callable[[], None] | None = None):
        self.args = ("serve", "--port", "0", *map(str, args))
        self.command_prefix = command_prefix  # e.g. setpriv, to run as another user
        self.preexec = preexec  # run in the child before exec, e.g. to set resource limits
        self.log_path = Path(log_dir) / f"xaiserve-serve-{os.getpid()}-{id(self)}.log"
        self.process: subprocess.Popen | None = None
        self.stdout_lines: list[str] = []
        self.url = ""
        self.host = ""
        self.port = 0

    def start(self) -> ServerProcess:
        import re
        import signal
        import threading

        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._log = open(self.log_path, "w")
        # SIGHUP as from a terminal, whatever the test run inherited: under
        # nohup it comes ignored, and the server rightly keeps it so.
        def preexec():
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            if self.preexec is not None:
                self.preexec()

        self.process = subprocess.Popen(
            [*self.command_prefix, str(BINARY), *self.args], stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
            preexec_fn=preexec,
        )
        ready = threading.Event()

        def read_stdout():
            for line in self.process.stdout:
                self.stdout_lines.append(line)
                if "listening on" in line:
                    ready.set()
            ready.set()  # stdout closed: the server exited

        threading.Thread(target=read_stdout, daemon=True).start()
        ready.wait(self.START_TIMEOUT)
        match = next(
            (re.search(r"listening on (http://127\.0\.0\.1:(\d+))", l) for l in self.stdout_lines if "listening" in l),
            None,
        )
        if match is None:
            self.stop()
            raise AssertionError(f"xaiserve serve did not start\nstdout: {''.join(self.stdout_lines)}\n{self.log()}")
        self.url, self.host, self.port = match.group(1), "127.0.0.1", int(match.group(2))
        return self

    def log(self) -> str:
        """The server's stderr so far: start-up messages and the access log."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self, timeout: float = 60.0, signal_name: str = "SIGTERM") -> int:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(getattr(signal, signal_name))
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"xaiserve serve did not stop within {timeout} s after {signal_name}\n{self.log()}")
        finally:
            self._log.close()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120.0,
    ) -> "Reply":
        """One request on a fresh connection. `body`: bytes as is, anything
        else as JSON."""
        import http.client

        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> "Reply":
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs) -> "Reply":
        return self.request("POST", path, body, **kwargs)

    def metrics_once(self, shows: Callable[[str], bool], timeout: float = 10.0) -> str:
        """/metrics as text, asked again until `shows(text)` (or the timeout):
        the server counts a request (and logs it) just after sending its
        response, so a client can be a moment ahead of the counters."""
        return read_until(lambda: self.get("/metrics").raw.decode(), shows, timeout)

    def log_once(self, shows: Callable[[str], bool], timeout: float = 10.0) -> str:
        """log(), read again until `shows(text)` (or the timeout); see metrics_once."""
        return read_until(self.log, shows, timeout)


def read_until(read: Callable[[], str], shows: Callable[[str], bool], timeout: float) -> str:
    """read() again every 10 ms until `shows` its text or `timeout` seconds pass; the last text."""
    deadline = time.monotonic() + timeout
    while True:
        text = read()
        if shows(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.01)


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.raw)
        except json.JSONDecodeError as error:
            raise AssertionError(f"HTTP {self.status}: body is not JSON ({error}): {self.raw[:500]!r}") from None

    def expect(self, status: int) -> Any:
        """The JSON body, after checking the status."""
        assert self.status == status, f"expected HTTP {status}, got {self.status}: {self.raw[:2000]!r}"
        return self.json()

    def expect_error(self, status: int, status_name: str | None = None, phrases: Iterable[str] = ()) -> str:
        """A JSON error body {"error": {"code", "status", "message"}} with
        this HTTP status; returns the message after checking its phrases."""
        body = self.expect(status)
        error = body.get("error")
        assert isinstance(error, dict) and set(error) == {"code", "status", "message"}, body
        assert error["code"] == status, body
        if status_name is not None:
            assert error["status"] == status_name, body
        for phrase in phrases:
            assert phrase in error["message"], f"message lacks {phrase!r}: {error['message']}"
        return error["message"]


@contextlib.contextmanager
def running_server(*args: Any, log_dir: Path, command_prefix: tuple[str, ...] = (),
                   preexec: Callable[[], None] | None = None) -> Iterator[ServerProcess]:
    """A server for the duration of the block; it must stop cleanly (exit 0)."""
    server = ServerProcess(*args, log_dir=log_dir, command_prefix=command_prefix, preexec=preexec).start()
    try:
        yield server
    finally:
        code = server.stop()
        assert code == 0, f"xaiserve serve exited with {code}\n{server.log()[-3000:]}"
