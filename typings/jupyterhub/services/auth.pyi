# The part of JupyterHub 6.1's services/auth.py that box_widget.hub uses.
from collections.abc import Awaitable, Iterable
from typing import Any, Literal, overload

from tornado.web import RequestHandler
from traitlets.config import SingletonConfigurable

def check_scopes(required_scopes: Iterable[str], scopes: set[str]) -> set[str] | bool: ...

class HubAuth(SingletonConfigurable):
    base_url: str
    api_url: str
    api_token: str
    access_scopes: set[str]
    cache_max_age: int
    def get_token(self, handler: RequestHandler, in_cookie: bool = True) -> str | None: ...
    @overload
    def user_for_token(
        self, token: str, use_cache: bool = True, session_id: str = "", *, sync: Literal[False]
    ) -> Awaitable[dict[str, Any] | None]: ...
    @overload
    def user_for_token(
        self,
        token: str,
        use_cache: bool = True,
        session_id: str = "",
        *,
        sync: Literal[True] = True,
    ) -> dict[str, Any] | None: ...
    @overload
    def get_user(
        self, handler: RequestHandler, *, sync: Literal[False]
    ) -> Awaitable[dict[str, Any] | None]: ...
    @overload
    def get_user(
        self, handler: RequestHandler, *, sync: Literal[True] = True
    ) -> dict[str, Any] | None: ...
    def check_scopes(self, required_scopes: Iterable[str], user: dict[str, Any]) -> set[str]: ...

class HubOAuth(HubAuth):
    oauth_client_id: str

class HubAuthenticated:
    @property
    def hub_auth(self) -> HubAuth: ...
    @hub_auth.setter
    def hub_auth(self, auth: HubAuth) -> None: ...
    def get_current_user(self) -> Any: ...

class HubOAuthenticated(HubAuthenticated): ...

class HubOAuthCallbackHandler(HubOAuthenticated, RequestHandler):
    async def get(self) -> None: ...
