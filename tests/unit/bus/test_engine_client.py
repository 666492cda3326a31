"""The typed engine client and the engine service agree on every method and argument."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from congress.bus import engine_client
from congress.bus.engine_client import ENGINE, EngineClient
from congress.services.policy_engine import PolicyEngineService

#: call-routing keywords the bus consumes itself (not passed to the service method)
BUS_KEYWORDS = {"node_id", "timeout"}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service_id: str, method: str, /, **kwargs: Any) -> Any:
        self.calls.append((service_id, method, kwargs))
        return {"ok": method}

    def broadcast(self, service_id: str, method: str, **kwargs: Any) -> None:
        self.calls.append((service_id, method, kwargs))


def _sample_args(fn: Any) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = [], {}
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty:
            args.append(f"<{p.name}>")
        elif p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = f"<{p.name}>"
    return args, kwargs


CLIENT_METHODS = [name for name, fn in inspect.getmembers(EngineClient, inspect.isfunction)
                  if not name.startswith("_")]


@pytest.mark.parametrize("name", CLIENT_METHODS)
def test_each_client_method_is_an_rpc_method_of_the_engine_with_its_arguments(name):
    rec = Recorder()
    args, kwargs = _sample_args(getattr(EngineClient, name))
    result = getattr(EngineClient(rec), name)(*args, **kwargs)
    assert result == {"ok": name}
    [(service_id, method, sent)] = rec.calls
    assert service_id == ENGINE
    assert method == name
    assert method in PolicyEngineService.rpc_methods
    params = inspect.signature(getattr(PolicyEngineService, method)).parameters
    unknown = set(sent) - BUS_KEYWORDS - set(params)
    assert not unknown, f"{method} does not take {sorted(unknown)}"
    # every argument the caller gave reaches the engine under its own name
    for value in args + list(kwargs.values()):
        assert value in sent.values()


def test_announcements_are_engine_rpc_methods_with_their_arguments():
    rec = Recorder()
    engine_client.announce_policy_change(rec, revision=7, origin="pe1")
    engine_client.announce_datasource_change(rec, name="nova", op="create")
    assert rec.calls == [(ENGINE, "policy_changed", {"revision": 7, "origin": "pe1"}),
                         (ENGINE, "datasource_changed", {"name": "nova", "op": "create"})]
    for _sid, method, sent in rec.calls:
        assert method in PolicyEngineService.rpc_methods
        assert set(sent) <= set(inspect.signature(getattr(PolicyEngineService, method))
                                .parameters)


def test_no_module_but_the_ids_module_spells_a_well_known_service_id():
    import pathlib

    root = pathlib.Path(engine_client.__file__).parents[1]
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "service_ids.py":
            continue
        text = path.read_text(encoding="utf-8")
        for ident in ('"__engine"', '"__library"', '"_ds_manager"'):
            if ident in text:
                offenders.append(f"{path.relative_to(root)}: {ident}")
    assert offenders == []
