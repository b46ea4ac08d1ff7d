"""Where a FalkorDB server is, and how many replicas must hold a write before it counts.

The FalkorDB backend is located by one URI of these forms:

* ``redis://HOST:PORT`` or ``rediss://HOST:PORT`` (TLS), or ``unix:///path/to/socket``:
  one server, reached directly;
* ``sentinel://HOST:PORT[,HOST:PORT…]/SERVICE``: the Redis Sentinels watching the
  service SERVICE; they name its primary, and name a new one after a failover.
  A ``user:password@`` part authenticates to the Sentinels only; the servers
  themselves take the backend's password as ever.

Either may end in ``?min_replicas=N&wait_ms=MS``: a write counts as done only
once the server's ``WAIT N MS`` says N replicas hold it. Without
``min_replicas`` a sentinel URI waits for one replica whenever the primary
has a replica online (and for none when it has none), a direct URI waits for
none. Other query parameters are passed to redis-py as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from memorygraph.errors import ConfigurationError

#: The URI forms, for messages.
ACCEPTED_FORMS = (
    "redis://host:port, rediss://host:port, unix:///path/to/socket or "
    "sentinel://host:port[,host:port…]/service"
)
#: Milliseconds a write waits for its replicas when the URI names no `wait_ms`.
DEFAULT_WAIT_MS = 2000
_DIRECT_SCHEMES = frozenset({"redis", "rediss", "unix"})
_OURS = ("min_replicas", "wait_ms")


@dataclass(frozen=True)
class FalkorLocation:
    """A parsed FalkorDB URI: a direct `server_uri`, or `sentinels` and their `service`."""

    server_uri: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    #: Replicas that must hold each write; None: one when the primary has any online.
    min_replicas: int | None = None
    wait_ms: int = DEFAULT_WAIT_MS

    @property
    def uses_sentinel(self) -> bool:
        return self.service is not None


def parse_location(uri: str) -> FalkorLocation:
    """Parse a FalkorDB URI, or raise `ConfigurationError` (field ``uri``) naming the forms.

    Messages never repeat the URI (it may hold a password).
    """
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    if not rest or (scheme not in _DIRECT_SCHEMES and scheme != "sentinel"):
        raise _bad("unknown form")
    try:
        parts = urlsplit(uri)
    except ValueError as e:
        raise _bad("unparseable") from e
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OURS}
    min_replicas = _count(ours, "min_replicas", 0) if "min_replicas" in ours else None
    wait_ms = _count(ours, "wait_ms", 1) if "wait_ms" in ours else DEFAULT_WAIT_MS
    if scheme != "sentinel":
        rest_query = urlencode([(k, v) for k, v in query if k not in _OURS])
        direct = urlunsplit((parts.scheme, parts.netloc, parts.path, rest_query, parts.fragment))
        if not parts.netloc:
            # urlunsplit writes ``unix:/path`` for an empty host; redis reads only ``unix://``.
            direct = f"{parts.scheme}://{direct.partition(':')[2]}"
        return FalkorLocation(server_uri=direct, min_replicas=min_replicas or 0, wait_ms=wait_ms)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    service = unquote(parts.path.strip("/"))
    if not service or "/" in service:
        raise _bad("a sentinel URI ends in /SERVICE, the name the Sentinels monitor")
    return FalkorLocation(
        sentinels=tuple(_host_port(h) for h in hosts.split(",")),
        service=service,
        sentinel_username=unquote(user) or None,
        sentinel_password=unquote(password) or None,
        min_replicas=min_replicas,
        wait_ms=wait_ms,
    )


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad("each Sentinel is HOST:PORT")
    return host, int(port)


def _count(values: dict[str, str], name: str, least: int) -> int:
    text = values[name]
    if not text.isdigit() or int(text) < least:
        raise _bad(f"{name} must be a whole number of at least {least}")
    return int(text)


def _bad(reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"the uri is not usable ({reason}); use {ACCEPTED_FORMS}", field="uri"
    )
