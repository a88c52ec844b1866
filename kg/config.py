"""Typed settings for every part of CoproKG, read in one place."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from kg.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

# Environment variable -> Settings field. Only from_env() reads the environment.
ENV_TO_FIELD = {
    "COPROKG_HOST": "host",
    "COPROKG_PORT": "port",
    "COPROKG_STORE": "store",
    "COPROKG_TOKEN": "token",
    "COPROKG_QUERY_TIMEOUT": "query_timeout",
    "COPROKG_CORS_ORIGINS": "cors_origins",
    "COPROKG_MAX_QUERY_BYTES": "max_query_bytes",
    "COPROKG_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "COPROKG_SERVICE_ALLOWLIST": "service_allowlist",
    "COPROKG_WORKERS": "workers",
    "COPROKG_THREADS": "threads",
    "COPROKG_ONTOLOGY": "ontology",
    "COPROKG_CASES": "cases",
    "COPROKG_QUERIES": "queries",
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable; tests build it directly, deployments call from_env()."""

    host: str = "127.0.0.1"
    port: int = 8000
    # A directory (embedded Oxigraph store) or "sparql:QUERY_URL[,UPDATE_URL]".
    store: str = str(ROOT / "data" / "store")
    # Writes need this bearer token; None means the service is read-only.
    token: str | None = None
    query_timeout: float = 30.0
    cors_origins: tuple[str, ...] = ("*",)
    max_query_bytes: int = 1_000_000
    max_upload_bytes: int = 256_000_000
    # SERVICE / LOAD targets that are allowed; everything else is refused.
    service_allowlist: tuple[str, ...] = ()
    workers: int = 2
    threads: int = 4
    ontology: Path = ROOT / "ontology" / "coprokg.ttl"
    cases: Path = ROOT / "cases"
    queries: Path = ROOT / "queries"

    @property
    def is_remote(self) -> bool:
        return self.store.startswith("sparql:")

    @property
    def read_only(self) -> bool:
        return self.token is None

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
        if source.endswith(("STORE", "store")):
            _check_store(source, str(value))
        return str(value)
    raise AssertionError(f"no coercion for {type_name}")


def _check_store(source: str, value: str) -> None:
    if value.startswith("sparql:"):
        urls = value.removeprefix("sparql:").split(",")
        if not 1 <= len(urls) <= 2 or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ConfigError(
                f"{source} must be a directory or sparql:QUERY_URL[,UPDATE_URL] with http(s) URLs, not {value!r}"
            )
