"""Where Box lives: the five base addresses a connection talks to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

BOX_AUTHORIZE_URL = "https://account.box.com/api/oauth2/authorize"
BOX_TOKEN_URL = "https://api.box.com/oauth2/token"  # noqa: S105 - a URL, not a secret
BOX_REVOKE_URL = "https://api.box.com/oauth2/revoke"
BOX_API_URL = "https://api.box.com/2.0"
BOX_UPLOAD_URL = "https://upload.box.com/api/2.0"

#: The environment variable that overrides each field.
ENV_VARS = {
    "authorize_url": "BOX_AUTHORIZE_URL",
    "token_url": "BOX_TOKEN_URL",
    "revoke_url": "BOX_REVOKE_URL",
    "api_url": "BOX_API_URL",
    "upload_url": "BOX_UPLOAD_URL",
}


@dataclass(frozen=True)
class BoxEndpoints:
    """Box's OAuth and API base URLs; the defaults are Box's real ones.

    Parameters
    ----------
    authorize_url
        The browser page where the user grants access.
    token_url
        The token endpoint (code exchange, refresh, client credentials).
    revoke_url
        The token revocation endpoint.
    api_url
        The base of the content API (``/2.0``).
    upload_url
        The base of the upload API.
    """

    authorize_url: str = BOX_AUTHORIZE_URL
    token_url: str = BOX_TOKEN_URL
    revoke_url: str = BOX_REVOKE_URL
    api_url: str = BOX_API_URL
    upload_url: str = BOX_UPLOAD_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BoxEndpoints:
        """Box's endpoints, each overridden by its ``BOX_*_URL`` variable when set."""
        env = os.environ if environ is None else environ
        overrides = {name: env[var] for name, var in ENV_VARS.items() if env.get(var)}
        return replace(cls(), **overrides)

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> BoxEndpoints:
        """Rebuild endpoints saved with :meth:`to_dict`, ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, str]:
        """The endpoints as a plain dict, for saving and for JSON."""
        return asdict(self)

    def to_env(self) -> dict[str, str]:
        """The ``BOX_*_URL`` variables that make :meth:`from_env` return these endpoints."""
        return {var: getattr(self, name) for name, var in ENV_VARS.items()}
