"""Every oslo.config option of Congress, in one place.

``list_opts()`` feeds ``oslo-config-generator`` (namespace ``congress``), which writes
``etc/congress.conf.sample``. Options keep OpenStack Congress's names (so existing
``congress.conf`` files work) and its defaults where those make sense for an operator; where they
differ the help text says so.

``datalog/`` and ``policy/`` never import this module: they take plain arguments.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from oslo_config import cfg


def _default_state_path() -> str:
    """Where the all-in-one server keeps its SQLite database and keys without any config."""
    if os.geteuid() == 0:
        return "/var/lib/congress"
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "congress")


core_opts = [
    cfg.StrOpt("state_path", default=_default_state_path(),
               sample_default="/var/lib/congress",
               help="Directory for state that Congress writes: the default SQLite database, "
                    "the encryption key for datasource secrets. Root defaults to "
                    "/var/lib/congress, other users to ~/.local/state/congress."),
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the REST API listens on. (OpenStack Congress defaulted to "
                            "0.0.0.0; listening on loopback unless told otherwise is safer.)"),
    cfg.PortOpt("bind_port", default=1789,
                help="Port the REST API listens on. Each node on one host needs its own."),
    cfg.IntOpt("max_simultaneous_requests", default=1024, min=1,
               help="Upper bound on requests handled at once; waitress threads are "
                    "min(this, api_threads)."),
    cfg.IntOpt("api_threads", default=16, min=1,
               help="Worker threads of the waitress server."),
    cfg.FloatOpt("api_request_timeout", default=20.0, min=0.1,
                 help="Longest an API request waits for services on other nodes (bus RPCs, "
                      "all together), in seconds; past it the request answers 503. Requests "
                      "to a service whose node is known to be dead or gone answer 503 at "
                      "once. Calls between services keep [dse] rpc_timeout/long_timeout."),
    cfg.IntOpt("api_max_calls_per_service", default=0, min=0,
               help="Most API requests that may use one service on another node (a "
                    "datasource, the datasource manager ...) at once; half as many more may "
                    "wait for a slot while the service answers; beyond that, or once the "
                    "service is known to be down, requests get 503 with Retry-After at once, "
                    "so a dependency that stopped answering never holds more than 1.5 times "
                    "this many API threads. 0: half of api_threads."),
    cfg.BoolOpt("tcp_keepalive", default=False, help="Set SO_KEEPALIVE on API sockets."),
    cfg.IntOpt("tcp_keepidle", default=600, help="TCP_KEEPIDLE for API sockets, seconds."),
    cfg.IntOpt("api_workers", default=1, min=1,
               help="Kept for compatibility; the API runs in the server process (threads)."),
    cfg.IntOpt("max_request_body_size", default=64 * 1024 * 1024, min=1024,
               help="Largest request body the API accepts, in bytes; larger bodies get 413."),
    cfg.StrOpt("auth_strategy",
               choices=[("noauth", "no authentication: every request is trusted (only for "
                                   "a node nobody else can reach)"),
                        ("keystone", "Keystone tokens (keystonemiddleware, the "
                                     "[keystone_authtoken] group) and the API policy")],
               help="'keystone' validates tokens with keystonemiddleware; 'noauth' trusts "
                    "everyone (a warning is logged). There is no default: only the "
                    "all-in-one developer server (no role options, in-process bus, SQLite, "
                    "API bound to a loopback address) runs unauthenticated without this "
                    "option; any other node with the API refuses to start until it is set. "
                    "Choose keystone for a deployment others can reach."),
    cfg.IntOpt("max_derived_rows", default=200_000, min=0,
               help="Most rows one table may derive after a policy change (a rule, a new "
                    "policy, an activated library policy): a change that would exceed it is "
                    "refused with 400 while it is evaluated, and nothing of it is applied. "
                    "Checked for changes made through the API; policies already stored load "
                    "whatever their size, and datasource updates are never refused. 0: no "
                    "limit."),
    cfg.FloatOpt("max_simulate_seconds", default=5.0, min=0,
                 help="Longest a simulate request may spend evaluating its sequence (it holds "
                      "the policy engine meanwhile); past it the simulation stops, answers 400 "
                      "and leaves no trace. max_derived_rows bounds what it derives too. 0: no "
                      "limit."),
    cfg.IntOpt("max_rows_per_read", default=0, min=0,
               help="Most rows one GET .../rows answers; more are read in pages (limit and "
                    "marker query parameters, next_marker in the answer). 0: a read without "
                    "limit answers every row, as OpenStack Congress did."),
    cfg.BoolOpt("metrics_unauthenticated", default=False,
                help="Serve GET /metrics (Prometheus) without a token when auth_strategy = "
                     "keystone, for a scraper on a trusted network. False: /metrics needs a "
                     "token and the get_v1 API policy like /v1."),
    cfg.ListOpt("drivers", default=[],
                help="Datasource driver ids that may be instantiated. Empty means every "
                     "driver Congress ships (minus disabled_drivers)."),
    cfg.ListOpt("disabled_drivers", default=[],
                help="Driver ids never loaded, even if listed in drivers."),
    cfg.ListOpt("custom_driver_endpoints", default=[],
                help="Extra drivers as name=module:Class entries."),
    cfg.IntOpt("datasource_sync_period", default=60, min=0,
               help="Seconds between full re-syncs of policies and datasources with the "
                    "database (repairs missed change notices). 0 disables the periodic sync."),
    cfg.BoolOpt("enable_execute_action", default=True,
                help="Execute actions derived by execute[...] rules. False logs them only."),
    cfg.BoolOpt("replicated_policy_engine", default=False,
                help="Kept for compatibility. Policy engines always sync through the DB and "
                     "change notices on the bus."),
    cfg.StrOpt("policy_library_path", default="/etc/congress/library",
               help="Directory of library policy YAML files loaded when the library is empty."),
    cfg.StrOpt("encryption_key_path", default="$state_path/keys",
               sample_default="/etc/congress/keys",
               help="Directory holding the Fernet key (aes_key) that encrypts datasource "
                    "secrets in the database."),
    cfg.StrOpt("tempdir", help="Directory for temporary files."),
    cfg.BoolOpt("fatal_exception_format_errors", default=False,
                help="Kept for compatibility; has no effect."),
    cfg.IntOpt("malloc_arena_max", default=1, min=0,
               help="Most glibc malloc arenas of the server process (set at start-up, like "
                    "MALLOC_ARENA_MAX): fewer arenas let freed memory be reused and returned "
                    "instead of staying spread over one heap per API thread. 0: glibc's "
                    "default (8 per core). Only on glibc."),
    cfg.IntOpt("malloc_trim_threshold", default=32, min=0,
               help="Once this many more MiB lie free in malloc's heaps than after the last "
                    "trim (after a delete, after a big push is absorbed ...), or are resident "
                    "while at least as many lie free, a background thread returns the free "
                    "pages to the system (malloc_trim). 0: never. Only on glibc."),
    cfg.FloatOpt("switch_interval", default=0.001, min=0.0001, max=0.1,
                 help="Seconds a busy Python thread runs before it yields the interpreter "
                      "to a waiting one (sys.setswitchinterval; Python's default is 0.005). "
                      "Shorter keeps API requests answered while a big push or policy "
                      "change is absorbed (1-row read p99 during a 300k-event PUT: ~155 ms "
                      "at 0.005, ~100 ms at 0.001) for a few percent of throughput."),
    cfg.BoolOpt("debug", short="d", default=False, help="Log at DEBUG level."),
    cfg.StrOpt("log_file", help="Log to this file instead of standard error."),
    cfg.BoolOpt("log_json", default=False,
                help="Write one JSON object per log line (for log shippers)."),
]

cli_opts = [
    cfg.BoolOpt("api", default=False, help="Run the REST API on this node."),
    cfg.BoolOpt("policy-engine", default=False, help="Run a policy engine on this node."),
    cfg.BoolOpt("datasources", default=False,
                help="Run the datasource drivers on this node."),
    cfg.StrOpt("node-id", default=socket.gethostname(), sample_default="<hostname>",
               help="Id of this node on the bus; unique within a deployment."),
    cfg.BoolOpt("delete-missing-driver-datasources", default=False,
                help="At start, delete datasources whose driver is not available instead of "
                     "refusing to start."),
]

dse_opts = [
    cfg.StrOpt("bus_id", default="bus",
               help="Id of this deployment's bus; nodes on other bus ids never see each other."),
    cfg.IntOpt("ping_timeout", default=5, min=1,
               help="Seconds to wait when checking that an unknown service is alive."),
    cfg.IntOpt("long_timeout", default=120, min=1,
               help="Seconds before a long RPC (policy changes, queries, simulate) times out."),
    cfg.IntOpt("time_to_resub", default=10, min=1,
               help="Seconds a gap in a table's update sequence may last before the "
                    "subscriber asks for a fresh snapshot."),
    cfg.BoolOpt("execute_action_retry", default=False,
                help="Retry action requests that time out."),
    cfg.IntOpt("execute_action_retry_timeout", default=600,
               help="Give up retrying an action after this many seconds (<=0: never)."),
    cfg.FloatOpt("heartbeat_interval", default=1.0, min=0.05,
                 help="Seconds between heartbeats of a node."),
    cfg.FloatOpt("heartbeat_timeout", default=5.0, min=0.1,
                 help="A peer not heard from for this many seconds is forgotten; a "
                      "datasource node then picks another leader policy engine."),
    cfg.FloatOpt("rpc_timeout", default=30.0, min=0.1,
                 help="Seconds before an ordinary RPC times out."),
]

database_opts = [
    cfg.StrOpt("connection", secret=True,
               default="sqlite:///$state_path/congress.sqlite",
               sample_default="sqlite:////var/lib/congress/congress.sqlite",
               help="SQLAlchemy URL of the database: sqlite:///path or "
                    "mysql+pymysql://user:pass@host/congress?charset=utf8mb4."),
    cfg.IntOpt("max_pool_size", default=10, min=1, help="Connection pool size."),
    cfg.IntOpt("max_overflow", default=20, min=0, help="Connections beyond the pool."),
    cfg.IntOpt("pool_timeout", default=10, min=1, help="Seconds to wait for a connection."),
    cfg.IntOpt("max_retries", default=10, min=0,
               help="Retries of a transaction that hits a deadlock or lost connection."),
]

healthcheck_opts = [
    cfg.StrOpt("disable_by_file_path", default="$state_path/healthcheck_disable",
               sample_default="/var/lib/congress/healthcheck_disable",
               help="While this file exists, GET /healthcheck answers 503 so a load "
                    "balancer drains the node (rolling upgrades, maintenance)."),
    cfg.BoolOpt("detailed", default=False,
                help="Include node details in the healthcheck body."),
]

json_ingester_opts = [
    cfg.BoolOpt("enable", default=False, help="Enable the JSON ingester webhook routes."),
    cfg.StrOpt("config_path", default="/etc/congress/json_ingesters",
               help="Directory of JSON ingester definitions."),
    cfg.StrOpt("config_reusables_path", default="/etc/congress/config_reusables.yaml",
               help="YAML file of values reused by JSON ingester definitions."),
]

# [cors]: the option names and types of oslo.middleware's CORS middleware (existing congress.conf
# files keep working), served by congress/api/cors.py; the defaults for methods and headers are the
# original Congress's
cors_opts = [
    cfg.ListOpt("allowed_origin",
                help="Origins whose browser pages may call this API, each written as "
                     "<scheme>://<host>[:<port>] without a trailing slash (for example "
                     "https://dashboard.example.org); * allows any origin. Unset: no "
                     "cross-origin request is allowed."),
    cfg.BoolOpt("allow_credentials", default=True,
                help="Let cross-origin requests carry credentials (cookies, authorization "
                     "headers)."),
    cfg.ListOpt("expose_headers",
                default=["X-Auth-Token", "X-OpenStack-Request-ID", "X-Subject-Token",
                         "X-Service-Token"],
                help="Response headers, besides the simple ones, that a cross-origin page may "
                     "read."),
    cfg.IntOpt("max_age", default=3600,
               help="Seconds a browser may cache the answer to a preflight request."),
    cfg.ListOpt("allow_methods", default=["GET", "PUT", "POST", "DELETE", "PATCH"],
                help="HTTP methods a cross-origin request may use."),
    cfg.ListOpt("allow_headers",
                default=["X-Auth-Token", "X-OpenStack-Request-ID", "X-Identity-Status",
                         "X-Roles", "X-Service-Catalog", "X-User-Id", "X-Tenant-Id"],
                help="Request headers, besides the simple ones, that a cross-origin request "
                     "may send."),
]

GROUPS = {
    "DEFAULT": core_opts,
    "dse": dse_opts,
    "database": database_opts,
    "healthcheck": healthcheck_opts,
    "json_ingester": json_ingester_opts,
    "cors": cors_opts,
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option of Congress on ``conf`` (idempotent)."""
    for group, opts in GROUPS.items():
        conf.register_opts(opts, group=None if group == "DEFAULT" else group)


def register_cli_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_cli_opts(cli_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """For oslo-config-generator."""
    return [("DEFAULT", core_opts + cli_opts)] + [
        (group, opts) for group, opts in GROUPS.items() if group != "DEFAULT"]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _option_set(conf: cfg.ConfigOpts, name: str, group: str | None = None) -> bool:
    """Whether option ``name`` was given (config file, command line, override), not left at
    its default; False when it is not even registered."""
    try:
        location = conf.get_location(name, group)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False
    return location is not None and location.location != cfg.Locations.opt_default


def not_developer_mode(conf: cfg.ConfigOpts) -> list[str]:
    """Why this node is not the all-in-one developer server on loopback (empty: it is).

    That mode is the only one in which ``auth_strategy`` may be left unset (and means noauth):
    every role in one process (no --api/--policy-engine/--datasources subset), the in-process
    bus, a SQLite database and the API bound to a loopback address.
    """
    reasons = []
    chosen = [role for role in ("api", "policy_engine", "datasources")
              if _option_set(conf, role) and getattr(conf, role)]
    if chosen and len(chosen) < 3:
        reasons.append("roles " + ", ".join("--" + r.replace("_", "-") for r in chosen))
    if not _is_loopback(conf.bind_host):
        reasons.append(f"bind_host = {conf.bind_host} is not a loopback address")
    if _option_set(conf, "transport_url"):
        url = conf.transport_url or ""
        if url and url.split(":", 1)[0].lower() not in ("inprocess", "fake"):
            reasons.append("transport_url names a message broker")
    connection = conf.database.connection or ""
    if not connection.lower().startswith("sqlite"):
        reasons.append("[database] connection is not SQLite")
    return reasons


def new_conf() -> cfg.ConfigOpts:
    """A fresh ConfigOpts with every Congress option registered (tests use one each)."""
    conf = cfg.ConfigOpts()
    register_opts(conf)
    return conf
