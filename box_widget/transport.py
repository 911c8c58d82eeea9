"""Transport rules: HTTPS to Box; plain HTTP only to this machine (the emulator), per URL."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import ConfigurationError

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether a host name is ``localhost`` or a loopback address."""
    host = host.lower().strip("[]")
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure(url: str) -> str:
    """``url`` if it is HTTPS, or plain HTTP to a loopback host; else a ConfigurationError.

    This replaces oauthlib's process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` switch with a decision
    made for each URL, so that a local emulator works without opening plain HTTP to the world.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return url
    msg = (
        f"Refusing to send Box credentials to {parts.scheme}://{parts.netloc}: Box endpoints "
        "must use https (plain http is allowed only to this machine, e.g. the emulator)"
    )
    raise ConfigurationError(msg)
