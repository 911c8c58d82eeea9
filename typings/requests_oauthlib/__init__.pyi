# The part of requests-oauthlib (which ships no types) that box-widget uses.
from typing import Any

import requests

class OAuth2Session(requests.Session):
    token: dict[str, Any]
    def __init__(
        self,
        client_id: str | None = None,
        client: Any = None,
        auto_refresh_url: str | None = None,
        auto_refresh_kwargs: dict[str, Any] | None = None,
        scope: Any = None,
        redirect_uri: str | None = None,
        token: dict[str, Any] | None = None,
        state: Any = None,
        token_updater: Any = None,
        pkce: str | None = None,
        **kwargs: Any,
    ) -> None: ...
    @property
    def authorized(self) -> bool: ...
    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response: ...
