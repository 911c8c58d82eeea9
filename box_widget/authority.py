"""A token authority: a process at a URL, reached with a token, that holds a connection's
refresh token (and the app's secret) and gives this process access tokens only.

Two authorities exist: the Jupyter server this process runs under (``local_server``), for a
connection made with the server's Box app, and the hub's box-widget service (``hub_client``),
for every connection in hub mode. Both speak the token API (``token_api``): the same answers,
the same errors. ``Authority.ask`` is that one conversation; ``AuthorityTokenSource`` is the
token source (``token_source``) both connections use.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from .errors import AuthorityUnreachable, BoxWidgetError
from .records import Token
from .token_api import error_from, fingerprint, token_from_answer
from .tokens import expiring

log = logging.getLogger(__name__)

#: Seconds to connect, and to wait for the answer (a refresh may wait for the vault's lock).
TIMEOUT = (5.0, 90.0)


@dataclass(frozen=True)
class Authority:
    """Where a token authority is, its token (never shown), and how to speak of it."""

    #: Its base URL, ending in ``/``; paths are relative to it.
    url: str
    token: str = field(repr=False)
    #: Who it is, for messages: "The Jupyter server at URL (process 12)".
    label: str = ""
    #: What to do when it cannot be reached or refuses this process.
    how_to: str = ""
    #: Why it may answer 401/403/redirect, and 404 without a box-widget answer, in words.
    refused: str = "refused this process's token"
    missing: str = "has no box-widget token API"
    #: How the token is sent: ``Authorization: <scheme> <token>`` (a worker grant: ``Bearer``).
    scheme: str = "token"

    @property
    def who(self) -> str:
        """How messages name it."""
        return self.label or f"The token authority at {self.url}"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``method`` ``path`` (relative to ``url``) with the token; the answer. No proxy from
        the environment (this is loopback or the hub's own network), no redirect followed (the
        token goes nowhere else), bounded timeouts."""
        http = requests.Session()
        http.trust_env = False
        headers = {"Authorization": f"{self.scheme} {self.token}"} if self.token else {}
        with http:
            return http.request(
                method,
                self.url + path,
                json=body,
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
            )

    def ask(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        connection: str | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of ``method`` ``path`` (see ``answer``)."""
        answer = self.answer(method, path, body, connection=connection)
        if answer is None:  # only with missing_ok
            raise self.not_understood(404, connection)
        return answer

    def answer(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        connection: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        """The JSON answer of ``method`` ``path``; an error answer raised as the error it
        stands for (``token_api.error_from``), or None for ``not_found`` with ``missing_ok``;
        no answer: ``AuthorityUnreachable`` saying which URL was tried and what to do."""
        try:
            response = self.request(method, path, body)
        except requests.RequestException as exc:
            msg = f"{self.who} did not answer ({type(exc).__name__}). {self.how_to}".strip()
            raise AuthorityUnreachable(
                msg, tried=(self.url,), connection=connection, action="retry"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        if isinstance(answer, dict) and "error" in answer and "message" in answer:
            if missing_ok and answer["error"] == "not_found":
                return None
            raise error_from(answer, connection or "")
        raise self.not_understood(response.status_code, connection)

    def not_understood(self, status: int, connection: str | None) -> BoxWidgetError:
        """An answer that is no box-widget answer, in words."""
        if status in (301, 302, 303, 307, 308, 401, 403):
            why = self.refused
        elif status == 404:
            why = self.missing
        else:
            why = f"answered HTTP {status}"
        msg = f"{self.who} {why}. {self.how_to}".strip()
        return AuthorityUnreachable(msg, tried=(self.url,), connection=connection)


class AuthorityTokenSource:
    """A token source (see ``token_source``) that asks a token authority for access tokens.

    ``token``: an access token to start with (its expiry known), so that the first request
    need not ask. One request at a time per source: threads waiting for a new token share it.
    Subclasses say where the authority is (``find``) and its token API's prefix (``prefix``).
    """

    #: The token API's path for connections, relative to the authority's URL.
    prefix = ""

    def __init__(
        self, name: str, *, token: Token | None = None, authority: Authority | None = None
    ) -> None:
        self.name = name
        self._authority = authority
        self._lock = threading.Lock()
        self._token: Token | None = None
        if token is not None:
            self._token = Token(
                access_token=token["access_token"],
                expires_in=token["expires_in"],
                expires_at=token["expires_at"],
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(connection={self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: the connection's name only (no token, not the authority's own token); the
        copy finds its authority where it is unpickled."""
        return (type(self), (self.name,))

    def find(self) -> Authority:
        """Where the authority is (raises ``AuthorityUnreachable`` when it cannot be found)."""
        raise NotImplementedError

    @property
    def authority(self) -> Authority:
        """The authority, found once."""
        if self._authority is None:
            self._authority = self.find()
        return self._authority

    def fresh(self) -> Token:
        """The token to send now: a new one from the authority if it is about to expire."""
        token = self._token
        if token is not None and not expiring(token):
            return token
        return self.refresh()

    def refresh(self, failed: str | None = None) -> Token:
        """A token that is not expiring and not ``failed`` (an access token Box refused); only
        its fingerprint is sent."""
        with self._lock:
            token = self._token
            if token is not None and token["access_token"] != failed and not expiring(token):
                return token  # another thread got a new one meanwhile
            body = {"failed": fingerprint(failed)} if failed else {}
            path = f"{self.prefix}/{self.name}/token"
            answer = self.authority.ask("POST", path, body, connection=self.name)
            self._token = token_from_answer(answer)
            log.debug("connection %r: access token from %s", self.name, self.authority.url)
            return self._token

    def revoke(self) -> bool:
        """Have the authority revoke this connection at Box and delete it; whether there was
        one."""
        with self._lock:
            self._token = None
            path = f"{self.prefix}/{self.name}"
            answer = self.authority.ask("DELETE", path, connection=self.name)
            return bool(answer.get("revoked"))
