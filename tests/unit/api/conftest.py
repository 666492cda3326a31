"""Fixtures: a parsed Congress ConfigOpts, the fake backend, a falcon TestClient (noauth)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import falcon.testing
import pytest

from congress import config
from congress.api.app import create_app
from tests.unit.api.fakes import FakeBackend


def make_conf(tmp_path: Any, config_text: str = "", **overrides: Any) -> Any:
    conf = config.new_conf()
    files = []
    if config_text:
        path = tmp_path / "congress.conf"
        path.write_text(config_text)
        files.append(str(path))
    conf(args=[], default_config_files=files)
    conf.set_override("disable_by_file_path", str(tmp_path / "healthcheck_disable"),
                      group="healthcheck")
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


@pytest.fixture
def conf(tmp_path: Any) -> Iterator[Any]:
    conf = make_conf(tmp_path)
    yield conf
    conf.reset()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def app(conf: Any, backend: FakeBackend) -> Any:
    return create_app(conf, backend)


@pytest.fixture
def client(app: Any) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.fixture
def make_client(tmp_path: Any, backend: FakeBackend
                ) -> Callable[..., falcon.testing.TestClient]:
    """A client over an app built from ``make_conf(tmp_path, **overrides)``."""

    def make(config_text: str = "", **overrides: Any) -> falcon.testing.TestClient:
        return falcon.testing.TestClient(
            create_app(make_conf(tmp_path, config_text, **overrides), backend))

    return make


def error_of(result: Any) -> dict[str, Any]:
    """The ``error`` member of an error envelope (and check the framing)."""
    assert result.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert result.text.endswith("\n")
    body = json.loads(result.text)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "error_code", "error_data"}
    return body["error"]


def post_json(client: falcon.testing.TestClient, path: str, body: Any, **kwargs: Any) -> Any:
    return client.simulate_post(path, body=json.dumps(body), **kwargs)
