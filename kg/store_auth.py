"""Credentials CoproKG presents to a remote SPARQL store: a bearer token, HTTP basic or HTTP digest.

They come from the setting COPROKG_STORE_AUTH (or `store_auth` in the TOML file) as `bearer:TOKEN`,
`basic:USER:PASSWORD` or `digest:USER:PASSWORD`, never from the store URL, so they cannot leak
through a logged or printed URL. Nothing here puts a secret into a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.errors import ConfigError

SCHEMES = ("bearer", "basic", "digest")


@dataclass(frozen=True)
class StoreAuth:
    """One parsed credential; repr() shows the scheme and user only."""

    scheme: str  # one of SCHEMES
    user: str | None = None  # None for bearer
    secret: str = field(default="", repr=False)  # the token or the password
    source: str = "COPROKG_STORE_AUTH"  # the setting it came from, named in refusals

    @classmethod
    def parse(cls, value: str, source: str = "COPROKG_STORE_AUTH") -> "StoreAuth":
        """Read `bearer:TOKEN`, `basic:USER:PASSWORD` or `digest:USER:PASSWORD` (the password may hold ':').

        Raises:
            ConfigError: an unknown scheme or a missing part; the message never repeats the value.
        """
        scheme, _, rest = value.partition(":")
        scheme = scheme.strip().lower()
        if scheme not in SCHEMES:
            raise ConfigError(f"{source} must start with one of {', '.join(s + ':' for s in SCHEMES)} "
                              f"(e.g. bearer:TOKEN or digest:USER:PASSWORD)")
        if scheme == "bearer":
            if not rest or rest != rest.strip() or not rest.isprintable():
                raise ConfigError(f"{source}: a bearer token must be given after 'bearer:', without spaces "
                                  "around it or control characters")
            return cls(scheme, None, rest, source)
        user, colon, password = rest.partition(":")
        if not user or not colon or not password:
            raise ConfigError(f"{source}: {scheme} credentials are written {scheme}:USER:PASSWORD")
        return cls(scheme, user, password, source)

    def for_requests(self):
        """The `auth` object a requests Session presents (digest keeps its nonce per session)."""
        import requests.auth

        if self.scheme == "basic":
            return requests.auth.HTTPBasicAuth(self.user, self.secret)
        if self.scheme == "digest":
            return requests.auth.HTTPDigestAuth(self.user, self.secret)
        return _BearerAuth(self.secret)


class _BearerAuth:
    """Send `Authorization: Bearer TOKEN` (requests has classes for basic and digest only; any callable will do)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<bearer token>"
