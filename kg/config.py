"""Typed settings for every part of CoproKG, read in one place."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from kg.errors import ConfigError
from kg.store_auth import StoreAuth

ROOT = Path(__file__).resolve().parent.parent
# The ontology, shapes, named queries and shipped cases sit beside the package in a source checkout (or an
# editable install); a wheel carries copies of them inside the package (pyproject.toml maps them there).
PACKAGED_FILES = Path(__file__).resolve().parent / "package_data"
PROJECT_FILES = ROOT if (ROOT / "ontology" / "coprokg.ttl").is_file() else PACKAGED_FILES
SHAPES = PROJECT_FILES / "ontology" / "shapes.ttl"


def default_store() -> str:
    """`data/store` in a checkout (where `make serve` builds it); an installed copy never writes into
    site-packages, so it uses the user's data directory (XDG_DATA_HOME, else ~/.local/share)."""
    if PROJECT_FILES == ROOT:
        return str(ROOT / "data" / "store")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(data_home) / "coprokg" / "store")


# Environment variable -> Settings field. Only from_env() reads the environment.
ENV_TO_FIELD = {
    "COPROKG_HOST": "host",
    "COPROKG_PORT": "port",
    "COPROKG_STORE": "store",
    "COPROKG_STORE_AUTH": "store_auth",
    "COPROKG_TOKEN": "token",
    "COPROKG_UPDATES": "updates",
    "COPROKG_WRITE_RATE": "write_rate",
    "COPROKG_QUERY_TIMEOUT": "query_timeout",
    "COPROKG_CORS_ORIGINS": "cors_origins",
    "COPROKG_MAX_QUERY_BYTES": "max_query_bytes",
    "COPROKG_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "COPROKG_SERVICE_ALLOWLIST": "service_allowlist",
    "COPROKG_PUBLIC_URL": "public_url",
    "COPROKG_WORKERS": "workers",
    "COPROKG_HEADER_TIMEOUT": "header_timeout",
    "COPROKG_IDLE_TIMEOUT": "idle_timeout",
    "COPROKG_ONTOLOGY": "ontology",
    "COPROKG_CASES": "cases",
    "COPROKG_QUERIES": "queries",
}

# COPROKG_UPDATES: "auto" = writes are on exactly when a token is set; "on" = the operator wants writes,
# so a missing token is a start-up error rather than a silently read-only service; "off" = read-only
# even with a token (e.g. a public mirror sharing its configuration with the writable instance).
UPDATE_MODES = ("auto", "on", "off")
# A token guessable in a few million tries is no guard on a network; loopback-only services may use any.
MIN_EXPOSED_TOKEN_LENGTH = 24


@dataclass(frozen=True)
class Settings:
    """Everything configurable; tests build it directly, deployments call from_env()."""

    host: str = "127.0.0.1"
    port: int = 8000
    # A directory (embedded Oxigraph store) or "sparql:QUERY_URL[,UPDATE_URL]".
    store: str = field(default_factory=default_store)
    # Credentials for a remote store: bearer:TOKEN, basic:USER:PASSWORD or digest:USER:PASSWORD (kg/store_auth.py).
    # Never shown by repr(), never part of the store URL.
    store_auth: str | None = field(default=None, repr=False)
    # Writes need this bearer token; None means the service is read-only. Never shown by repr().
    token: str | None = field(default=None, repr=False)
    updates: str = "auto"  # one of UPDATE_MODES
    # Write requests (update, Graph Store PUT/POST/DELETE) each client may make per minute, in bursts up to this.
    write_rate: int = 300
    query_timeout: float = 30.0
    cors_origins: tuple[str, ...] = ("*",)
    max_query_bytes: int = 1_000_000
    max_upload_bytes: int = 256_000_000
    # SERVICE / LOAD targets that are allowed; everything else is refused.
    service_allowlist: tuple[str, ...] = ()
    workers: int = 2
    # Seconds a client may take to send a request's line and headers; and seconds a connection may stay
    # idle (between requests, or while a client sends a body or reads an answer) before the edge closes it.
    header_timeout: float = 10.0
    idle_timeout: float = 60.0
    # Where clients reach the service (e.g. https://kg.example.org behind a proxy): the absolute links the
    # service writes (the service description, the OpenAPI servers entry) use it, never the Host a client sent.
    # Unset, they use the address the service listens on.
    public_url: str | None = None
    ontology: Path = PROJECT_FILES / "ontology" / "coprokg.ttl"
    cases: Path = PROJECT_FILES / "cases"
    queries: Path = PROJECT_FILES / "queries"

    @property
    def is_remote(self) -> bool:
        return self.store.startswith("sparql:")

    @property
    def remote_auth(self) -> StoreAuth | None:
        """The parsed credentials for the remote store, if any are set."""
        return StoreAuth.parse(self.store_auth) if self.store_auth is not None else None

    def __post_init__(self) -> None:
        """Refuse combinations that would expose writes (messages never include the token).

        Raises:
            ConfigError: an unknown COPROKG_UPDATES, writes asked for without a token, a short token on a
                non-loopback address, or malformed COPROKG_STORE_AUTH.
        """
        if self.updates not in UPDATE_MODES:
            raise ConfigError(f"COPROKG_UPDATES must be one of {', '.join(UPDATE_MODES)}, not {self.updates!r}")
        if self.token is not None and (self.token != self.token.strip() or not self.token.isprintable()):
            raise ConfigError("COPROKG_TOKEN must not start or end with spaces or hold control characters")
        if self.public_url is not None and (not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", self.public_url)):
            raise ConfigError(f"COPROKG_PUBLIC_URL must be an http(s) URL without query or fragment, "
                              f"such as https://kg.example.org, not {self.public_url!r}")
        if self.store_auth is not None:
            StoreAuth.parse(self.store_auth)
        exposed = not is_loopback(self.host)
        if self.updates == "on" and self.token is None:
            where = (f"COPROKG_HOST={self.host} is not a loopback address, so anyone who reaches it could write"
                     if exposed else "writes always need a bearer token")
            raise ConfigError(f"COPROKG_UPDATES=on but COPROKG_TOKEN is unset: refusing to start ({where}); "
                              "set COPROKG_TOKEN, or COPROKG_UPDATES=auto/off for a read-only service")
        if exposed and not self.read_only and len(self.token or "") < MIN_EXPOSED_TOKEN_LENGTH:
            raise ConfigError(f"COPROKG_TOKEN is shorter than {MIN_EXPOSED_TOKEN_LENGTH} characters, too weak for a "
                              f"writable service on COPROKG_HOST={self.host}, which is not a loopback address; "
                              "use a long random token (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)")

    @property
    def base_url(self) -> str:
        """The service's own root URL, without a trailing slash: COPROKG_PUBLIC_URL, else where it listens."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def read_only(self) -> bool:
        """True unless a token is set and COPROKG_UPDATES is not "off"."""
        return self.token is None or self.updates == "off"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read COPROKG_* variables (and the TOML file named by COPROKG_CONFIG).

        Raises:
            ConfigError: a value is malformed; the message names the variable.
        """
        environ = dict(os.environ if environ is None else environ)
        raw: dict[str, tuple[str, object]] = {}
        config_file = environ.get("COPROKG_CONFIG")
        if config_file:
            raw.update(_read_config_file(Path(config_file)))
        for var, name in ENV_TO_FIELD.items():
            if environ.get(var, "") != "":
                raw[name] = (var, environ[var])
        settings = cls()
        types = {f.name: f.type for f in fields(cls)}
        values = {name: _coerce(source, types[name], value) for name, (source, value) in raw.items()}
        return replace(settings, **values)


def is_loopback(host: str) -> bool:
    """Tell whether binding `host` keeps the service on this machine (0.0.0.0 and :: mean every interface)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _read_config_file(path: Path) -> dict[str, tuple[str, object]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"COPROKG_CONFIG: no such file: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"COPROKG_CONFIG: {path}: {e}") from None
    known = set(ENV_TO_FIELD.values())
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    return {name: (f"{path}: {name}", value) for name, value in data.items()}


def _coerce(source: str, type_name: str, value: object) -> object:
    """Turn one raw value into its field's type, naming `source` on failure."""
    text = value if isinstance(value, str) else None
    if type_name == "int":
        if isinstance(value, int) or (text is not None and text.strip().isdigit()):
            number = int(value)
            if source.endswith(("PORT", "port")) and not 0 < number < 65536:
                raise ConfigError(f"{source} must be a port number from 1 to 65535, not {value!r}")
            if number <= 0:
                raise ConfigError(f"{source} must be a positive whole number, not {value!r}")
            return number
        raise ConfigError(f"{source} must be a positive whole number, not {value!r}")
    if type_name == "float":
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{source} must be a number of seconds, not {value!r}") from None
        if not number > 0:
            raise ConfigError(f"{source} must be greater than 0, not {value!r}")
        return number
    if type_name == "tuple[str, ...]":
        items = value if isinstance(value, list) else str(value).split(",")
        return tuple(str(item).strip() for item in items if str(item).strip())
    if type_name == "Path":
        return Path(str(value))
    if type_name == "str | None":
        return str(value) or None
    if type_name == "str":
        if source.endswith(("UPDATES", "updates")) and str(value).strip().lower() not in UPDATE_MODES:
            raise ConfigError(f"{source} must be one of {', '.join(UPDATE_MODES)}, not {value!r}")
        if source.endswith(("UPDATES", "updates")):
            return str(value).strip().lower()
        if source.endswith(("STORE", "store")):
            _check_store(source, str(value))
        return str(value)
    raise AssertionError(f"no coercion for {type_name}")


def _check_store(source: str, value: str) -> None:
    if value.startswith("sparql:"):
        urls = value.removeprefix("sparql:").split(",")
        if any("@" in urlsplit(u).netloc for u in urls):
            # The value is not repeated: it holds a password.
            raise ConfigError(f"{source}: the remote store URL must not hold credentials (user:password@); "
                              "give them in COPROKG_STORE_AUTH, e.g. digest:USER:PASSWORD")
        if not 1 <= len(urls) <= 2 or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ConfigError(
                f"{source} must be a directory or sparql:QUERY_URL[,UPDATE_URL] with http(s) URLs, not {value!r}"
            )
