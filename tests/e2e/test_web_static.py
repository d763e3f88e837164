"""The web page's files and examples as the real server serves them, over
loopback and without a browser: GET / and /static/* (embedded in the binary)
with their content types, no way out of the page's files however the path is
spelled, GET /v1/models/{name}:examples, and which of these a bearer token
guards. The page itself runs in test_web_browser.py."""

from __future__ import annotations

import http.client

import pytest

from conftest import FIXTURES, REPO, read_instances, running_server

DEMO = {"tabular": "tabular_mlp", "image": "shapes_cnn", "text": "text_classifier"}


@pytest.fixture(scope="module")
def server(xaiserve, tmp_path_factory):
    with running_server("--demo-dir", FIXTURES, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def raw_get(server, path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (no client-side normalising)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_root_is_the_page(server):
    reply = server.get("/")
    assert reply.status == 200, reply.raw[:300]
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-cache"
    page = reply.raw.decode()
    assert page.startswith("<!DOCTYPE html>")
    assert '<script type="module" src="/static/app.js">' in page
    assert server.get("/static/index.html").raw == reply.raw
    # The page in the binary is the page in the source tree.
    assert reply.raw == (REPO / "web" / "index.html").read_bytes()


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("pictures.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
    ],
)
def test_static_files_with_their_content_types(server, name, content_type):
    reply = server.get(f"/static/{name}")
    assert reply.status == 200, reply.raw[:300]
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.raw == (REPO / "web" / name).read_bytes()
    assert server.request("HEAD", f"/static/{name}").status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../CMakeLists.txt",
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/CMakeLists.txt",
        "/static/%2E%2E%2FCMakeLists.txt",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/..\\CMakeLists.txt",
        "/static/%5c..%5cCMakeLists.txt",
        "/static//etc/passwd",
        "/static/./app.js",
        "/static/app.js%00.png",
        "/static/",
        "/static/missing.js",
        "/../CMakeLists.txt",
        "/index.html",
        "/web/index.html",
    ],
)
def test_no_file_outside_the_page(server, path):
    status, body = raw_get(server, path)
    assert status in (400, 404), (path, status, body[:200])
    for leaked in (b"cmake_minimum_required", b"root:x:0", b"import {"):
        assert leaked not in body, (path, body[:300])


def test_static_routes_are_get_only(server):
    reply = server.post("/", {"instances": []})
    reply.expect_error(405, "METHOD_NOT_ALLOWED")
    assert reply.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("model", sorted(DEMO))
def test_examples_are_the_instances_beside_the_model(server, model):
    body = server.get(f"/v1/models/{model}:examples").expect(200)
    assert body["examples"] == read_instances(DEMO[model])
    assert body["source"] == str(FIXTURES / DEMO[model] / "instances.jsonl")


def test_examples_errors(server):
    server.get("/v1/models/zebra:examples").expect_error(404, "NOT_FOUND", ["zebra"])
    server.post("/v1/models/tabular:examples", {}).expect_error(405, "METHOD_NOT_ALLOWED")


def test_examples_of_a_model_without_instances_file(xaiserve, tmp_path):
    with running_server("--model", f"quadratic={FIXTURES / 'quadratic'}", log_dir=tmp_path) as server:
        body = server.get("/v1/models/quadratic:examples").expect(200)
    assert body["examples"] == read_instances("quadratic")[:10]


def test_token_guards_the_api_but_not_the_page(xaiserve, tmp_path):
    with running_server("--demo-dir", FIXTURES, "--auth-token", "let-me-in", log_dir=tmp_path) as server:
        assert server.get("/").status == 200
        assert server.get("/static/app.js").status == 200
        server.get("/v1/models/tabular:examples").expect_error(401, "UNAUTHENTICATED")
        server.get("/v1/models").expect_error(401, "UNAUTHENTICATED")
        server.get("/static/missing.js").expect_error(404, "NOT_FOUND")
        authorized = {"Authorization": "Bearer let-me-in"}
        assert server.get("/v1/models/tabular:examples", headers=authorized).expect(200)["examples"]
