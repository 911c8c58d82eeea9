"""A token source that asks a token authority over HTTP for access tokens.

What ``ServerTokenSource`` (a kernel asking its Jupyter server) and ``GrantTokenSource`` (a
worker asking the authority its grant names) share: the token held in memory, one request at a
time (threads waiting for a new token share it), a new one asked for ahead of expiry, a token
Box refused sent back as its fingerprint only, and the authority's answer read back into a token
or into the error it stands for. Subclasses say how to ask (``_ask_token``) and what an answer
that is not the token API's means (``_not_understood``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from .errors import BoxWidgetError
from .records import Token
from .token_api import error_from, fingerprint, token_from_answer
from .tokens import expiring

log = logging.getLogger(__name__)


def answer_of(response: requests.Response, name: str) -> dict[str, Any] | None:
    """A token API answer's JSON (status 200), the error it stands for raised, or None: the
    answer is not the token API's (another server, a login page, a proxy's error)."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 200 and isinstance(answer, dict):
        return answer
    if isinstance(answer, dict) and "error" in answer and "message" in answer:
        raise error_from(answer, name)
    return None


class AskingTokenSource:
    """A token source (see ``token_source``) whose tokens come from an authority's token API.

    ``token``: an access token to start with (its expiry known), so that the first request need
    not ask.
    """

    #: Who is asked, in words (for the log).
    authority = "the token authority"

    def __init__(self, name: str, *, token: Token | None = None) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._token: Token | None = None
        if token is not None:
            self._token = Token(
                access_token=token["access_token"],
                expires_in=token["expires_in"],
                expires_at=token["expires_at"],
            )

    def fresh(self) -> Token:
        """The token to send now: a new one from the authority if it is about to expire."""
        token = self._token
        if token is not None and not expiring(token):
            return token
        return self.refresh()

    def refresh(self, failed: str | None = None) -> Token:
        """A token that is not expiring and not ``failed`` (an access token Box refused); only
        its fingerprint is sent to the authority."""
        with self._lock:
            token = self._token
            if token is not None and token["access_token"] != failed and not expiring(token):
                return token  # another thread got a new one meanwhile
            body = {"failed": fingerprint(failed)} if failed else {}
            self._token = token_from_answer(self._ask_token(body))
            log.debug("connection %r: access token from %s", self.name, self.authority)
            return self._token

    def _forget(self) -> None:
        self._token = None

    def _ask_token(self, body: dict[str, Any]) -> dict[str, Any]:
        """The authority's answer to a token request with ``body``."""
        raise NotImplementedError

    def _read(self, response: requests.Response, where: str) -> dict[str, Any]:
        """A successful answer's JSON, or the error the answer stands for."""
        answer = answer_of(response, self.name)
        if answer is None:
            raise self._not_understood(where, response.status_code)
        return answer

    def _not_understood(self, where: str, status: int) -> BoxWidgetError:
        """The error for an answer that is not the token API's (``where``: the authority)."""
        raise NotImplementedError
