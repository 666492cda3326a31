"""The Congress REST API v1 as a falcon WSGI app: :func:`create_app`.

Routes are registered in the order of doc/api.md §Routes. OpenStack Congress matched them as
regular expressions, first match wins; falcon's router prefers literal segments to variables,
which for this route set selects the same resource for every URL. Path segments must be
non-empty (``[^/]+``).

Besides ``/v1`` the app answers ``/healthcheck`` (oslo.middleware semantics, unauthenticated)
and the version documents at ``/`` and every other path outside ``/v1`` (300 choices).

Works with falcon 3.1 and 4.x.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import falcon

from congress import config
from congress.api import (
    cors,
    datasources,
    drivers,
    library,
    metrics,
    openapi,
    policies,
    rules,
    tables,
    versions,
)
from congress.api.base import ApiState, Backend, Resource
from congress.api.errors import handle_exception
from congress.api.healthcheck import Healthcheck
from congress.api.middleware import RequestMiddleware
from congress.exceptions import ConfigurationError

LOG = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

_P = "/v1/policies/{policy_id}"
_DS = "/v1/data-sources/{ds_id}"

#: (URI template, resource class), in registration order
ROUTES: list[tuple[str, type[Resource]]] = [
    ("/v1", versions.VersionV1),
    ("/v1/", versions.VersionV1),
    ("/v1/policies", policies.Policies),
    (_P, policies.Policy),
    ("/v1/librarypolicies", library.LibraryPolicies),
    ("/v1/librarypolicies/{policy_id}", library.LibraryPolicy),
    (_P + "/rules", rules.Rules),
    (_P + "/rules/{rule_id}", rules.Rule),
    ("/v1/data-sources", datasources.Datasources),
    (_DS, datasources.Datasource),
    (_DS + "/schema", datasources.DatasourceSchema),
    (_DS + "/tables/{table_id}/spec", tables.DatasourceTableSpec),
    (_DS + "/actions", datasources.DatasourceActions),
    (_DS + "/status", datasources.DatasourceStatus),
    (_P + "/status", policies.PolicyStatus),
    (_P + "/rules/{rule_id}/status", rules.RuleStatus),
    (_DS + "/tables", tables.DatasourceTables),
    (_P + "/tables", tables.PolicyTables),
    (_DS + "/tables/{table_id}", tables.DatasourceTable),
    (_P + "/tables/{table_id}", tables.PolicyTable),
    (_DS + "/tables/{table_id}/rows", tables.DatasourceRows),
    (_P + "/tables/{table_id}/rows", tables.PolicyRows),
    (_DS + "/tables/{table_id}/rows/{row_id}", tables.DatasourceRow),
    (_P + "/tables/{table_id}/rows/{row_id}", tables.PolicyRow),
    (_DS + "/webhook", datasources.DatasourceWebhook),
]

#: registered only when ``[json_ingester] enable`` is true
JSON_INGESTER_ROUTES: list[tuple[str, type[Resource]]] = [
    (_DS + "/tables/{table_id}/webhook", datasources.DatasourceTableWebhook),
]

SYSTEM_ROUTES: list[tuple[str, type[Resource]]] = [
    ("/v1/system/drivers", drivers.Drivers),
    ("/v1/system/drivers/{driver_id}", drivers.Driver),
]


class CongressApp(falcon.App):
    """A falcon App whose WSGI entry point can be wrapped by WSGI middleware
    (keystonemiddleware's ``auth_token``) while staying a ``falcon.App``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._wsgi_entry: WSGIApp = super().__call__

    def wrap_wsgi(self, factory: Callable[[WSGIApp], WSGIApp]) -> None:
        self._wsgi_entry = factory(self._wsgi_entry)

    def __call__(self, env: dict[str, Any], start_response: Any) -> Any:
        return self._wsgi_entry(env, start_response)


def create_app(conf: Any, backend: Backend) -> falcon.App:
    """The API as a WSGI app (a ``falcon.App``) over ``backend``.

    ``conf`` is a ConfigOpts with the Congress options registered (``congress.config``).
    """
    strategy = auth_strategy(conf)
    state = ApiState(conf, backend)
    middleware: list[Any] = [RequestMiddleware(state)]
    keystone = strategy == "keystone"
    if keystone:
        # oslo.policy (and requests, yaml ...) only where used: a noauth node starts faster
        from congress.api import auth
        enforcer = auth.make_enforcer(conf)
        protected = () if conf.metrics_unauthenticated else ("/metrics",)
        middleware += [auth.KeystoneContextMiddleware(enforcer, protected),
                       auth.PolicyMiddleware(enforcer)]
    else:
        LOG.warning("auth_strategy = noauth: the Congress API trusts every request; "
                    "set auth_strategy = keystone to authenticate and authorize requests")

    app = CongressApp(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = False
    app.add_error_handler(Exception, handle_exception)
    app.add_error_handler(falcon.HTTPError, handle_exception)

    routes = list(ROUTES)
    if conf.json_ingester.enable:
        routes += JSON_INGESTER_ROUTES
    routes += SYSTEM_ROUTES
    for template, resource_cls in routes:
        app.add_route(template, resource_cls(state))
    app.add_route("/v1/openapi.json", openapi.OpenApi(state, routes))
    app.add_route("/metrics", metrics.Metrics(state, public=conf.metrics_unauthenticated))
    app.add_route("/healthcheck", Healthcheck(state))
    app.add_sink(versions.versions_sink, versions.SINK_PREFIX)

    if keystone:
        app.wrap_wsgi(auth.authtoken_wrapper(conf))
    # outermost: preflights never reach auth
    app.wrap_wsgi(lambda inner: cors.Cors(inner, conf.cors))
    return app


def auth_strategy(conf: Any) -> str:
    """``auth_strategy`` as configured; unset, ``noauth`` for the all-in-one developer server
    on loopback (:func:`congress.config.not_developer_mode`) and a
    :class:`~congress.exceptions.ConfigurationError` (the node does not start) otherwise."""
    if conf.auth_strategy:
        return str(conf.auth_strategy)
    reasons = config.not_developer_mode(conf)
    if reasons:
        raise ConfigurationError(
            "[DEFAULT] auth_strategy is not set and this is not the all-in-one developer "
            f"server on loopback ({'; '.join(reasons)}): set auth_strategy = keystone to "
            "authenticate API requests, or auth_strategy = noauth to accept every request "
            "without authentication")
    return "noauth"
