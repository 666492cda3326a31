"""Errors across the bus: a handler's exception travels as a small dict and is rebuilt.

oslo.messaging's own remote-exception mechanism builds ``<Class>_Remote`` types whose text carries
the remote traceback, and the in-process transport only a type name and a message. To behave
the same on every transport the bus never lets an exception reach oslo.messaging: the handler
returns ``{"e": <error dict>}`` and the caller raises the rebuilt :class:`CongressError` (same
class, message, code, HTTP status, position; no remote traceback).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from congress import exceptions
from congress.exceptions import CongressError

REMOTE_ERROR_CODE = "remote_error"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value


def error_to_wire(exc: BaseException) -> dict[str, Any]:
    """Describe ``exc`` as a JSON-able dict."""
    if isinstance(exc, CongressError):
        out: dict[str, Any] = {
            "module": type(exc).__module__,
            "cls": type(exc).__qualname__,
            "message": exc.message,
            "code": exc.code,
            "http_status": exc.http_status,
            "position": list(exc.position) if exc.position is not None else None,
            "data": _jsonable(exc.data),
        }
        api_name = getattr(exc, "api_name", None)
        if api_name != getattr(type(exc), "api_name", None):
            out["api_name"] = api_name
        errors = getattr(exc, "errors", None)
        if isinstance(errors, list) and all(isinstance(e, CongressError) for e in errors):
            out["errors"] = [error_to_wire(e) for e in errors]
        return out
    return {"module": None, "cls": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": str(exc)}


def _congress_class(module: str | None, name: str | None) -> type[CongressError] | None:
    if not module or not name or not (module == "congress" or module.startswith("congress.")):
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    if isinstance(obj, type) and issubclass(obj, CongressError):
        return obj
    return None


def error_from_wire(data: dict[str, Any], service_id: str) -> CongressError:
    """Rebuild the exception described by :func:`error_to_wire`."""
    cls = _congress_class(data.get("module"), data.get("cls"))
    message = data.get("message") or ""
    if cls is None:
        if data.get("module") is None:
            # Not a CongressError: report type and text, never the remote traceback.
            return CongressError(f"Error in service '{service_id}': {data.get('cls')}: {message}",
                                 code=REMOTE_ERROR_CODE, http_status=500)
        cls = CongressError
    # Bypass __init__: subclasses may take other arguments; restore the attributes directly.
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.message = message
    exc.code = data.get("code") or cls.code
    exc.http_status = data.get("http_status") or cls.http_status
    position = data.get("position")
    exc.position = tuple(position) if position is not None else None
    exc.data = data.get("data")
    if "api_name" in data:
        exc.api_name = data["api_name"]
    if "errors" in data:
        exc.errors = [error_from_wire(e, service_id) for e in data["errors"]]
    return exc


def service_not_found(service_id: str) -> exceptions.ServiceNotFound:
    return exceptions.ServiceNotFound(f"service '{service_id}' could not be found")


def timed_out(service_id: str) -> exceptions.RpcTimeout:
    return exceptions.RpcTimeout(f"Request to service '{service_id}' timed out")
