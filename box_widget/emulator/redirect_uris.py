"""Box's redirect URI rules: HTTPS unless loopback, exact match, any port on loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..transport import is_loopback

#: Box documents no limit; a Box developer advocate on Box's community forum gave about 10 per
#: app (see docs/emulator.md, "Redirect URIs").
MAX_REDIRECT_URIS = 10


class TooManyRedirectURIs(ValueError):
    """More redirect URIs than an app may register."""


def check_registrable(uri: str) -> None:
    """Refuse a redirect URI Box would not let an app register (HTTPS unless loopback)."""
    parts = urlsplit(uri)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
        msg = f"not a valid redirect URI: {uri!r}"
        raise ValueError(msg)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        msg = f"redirect URIs must use https unless they are loopback: {uri!r}"
        raise ValueError(msg)


def check_redirect_uris(uris: list[str]) -> None:
    """Refuse a list of redirect URIs Box would not save: one it refuses, a repeat, too many."""
    for uri in uris:
        check_registrable(uri)
    if len(set(uris)) != len(uris):
        msg = "an app cannot register the same redirect URI twice"
        raise ValueError(msg)
    if len(uris) > MAX_REDIRECT_URIS:
        msg = (
            f"an app can register at most {MAX_REDIRECT_URIS} redirect URIs; "
            f"this one would have {len(uris)}"
        )
        raise TooManyRedirectURIs(msg)


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Box's rule: an exact match, except that a loopback URI matches any port."""
    if registered == requested:
        return True
    reg, req = urlsplit(registered), urlsplit(requested)
    if not reg.hostname or not is_loopback(reg.hostname):
        return False
    try:
        req.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return False
    return (reg.scheme, reg.hostname, reg.path, reg.query) == (
        req.scheme,
        req.hostname,
        req.path,
        req.query,
    )
