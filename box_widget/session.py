"""``BoxSession``: a ``requests`` session for Box's API that keeps its own token fresh.

Relative URLs resolve against the API base (``session.get("users/me")``), absolute ones pass
through. Each request carries the token its token source (``token_source``) gives: refreshed
first if it is within its margin of expiry; after a 401 the source is asked once for a new one
and the request is sent again.
429 is retried for every method (Box did not process it), 5xx only for idempotent methods, both
with exponential backoff and jitter and ``Retry-After`` honoured (urllib3's ``Retry``). Error
answers raise ``BoxAPIError`` unless ``raise_on_error`` is False.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from .endpoints import BoxEndpoints
from .errors import BoxAPIError
from .oauth import DEFAULT_TIMEOUT
from .records import Token
from .token_source import TokenSource
from .transport import require_secure

#: ``requests.Session.request``'s arguments after ``url``, in order (for positional calls).
REQUEST_ARGUMENTS = (
    "params",
    "data",
    "headers",
    "cookies",
    "files",
    "auth",
    "timeout",
    "allow_redirects",
    "proxies",
    "hooks",
    "stream",
    "verify",
    "cert",
    "json",
)


class BoxRetry(Retry):
    """urllib3's ``Retry``, except that 429 is retried for any method: Box did not process it."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and self.total:
            return True
        return bool(super().is_retry(method, status_code, has_retry_after))


def api_retry() -> BoxRetry:
    """The API's retry policy: up to 5 tries, backoff 0.5 s doubling with jitter, max 30 s."""
    return BoxRetry(
        total=5,
        connect=3,
        read=2,
        other=0,
        status=5,
        status_forcelist={429, 500, 502, 503, 504},
        backoff_factor=0.5,
        backoff_jitter=0.5,
        backoff_max=30,
        raise_on_status=False,
    )


def _replayable(kwargs: dict[str, Any]) -> bool:
    """Whether a request's body can be sent a second time (after a 401)."""
    if kwargs.get("files"):
        return False
    data = kwargs.get("data")
    return (
        data is None
        or isinstance(data, bytes | str | dict | list | tuple)
        or (isinstance(data, io.IOBase) and data.seekable())
    )


class BoxSession(OAuth2Session):
    """An authenticated, self-refreshing session for one Box connection.

    What requests-oauthlib's ``OAuth2Session`` is used for: it is the base class, so the session
    is what code written for requests-oauthlib expects (a ``requests.Session`` whose ``token``
    and ``authorized`` read as usual; ``token`` follows every token sent). Its own token
    handling is not used: ``OAuth2Session.request`` adds the token through oauthlib, which
    refuses plain http in the whole process unless a global switch is flipped (the emulator
    runs on loopback http; ``transport.require_secure`` decides per URL instead), and its
    auto-refresh would spend the refresh token with no lock across processes, which Box's
    single-use refresh tokens cannot survive. So ``request`` sends through
    ``requests.Session.request`` with the token the token source gives.
    """

    def __init__(
        self,
        source: TokenSource,
        endpoints: BoxEndpoints,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
    ) -> None:
        super().__init__()
        #: Where the access tokens come from (the vault, a hub service, a worker grant).
        self.source = source
        self.endpoints = endpoints
        self.api_url = endpoints.api_url.rstrip("/") + "/"
        self.timeout = timeout
        #: Raise ``BoxAPIError`` for 4xx/5xx answers (set False to get the response instead).
        self.raise_on_error = True
        adapter = HTTPAdapter(max_retries=retry if retry is not None else api_retry())
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"<BoxSession connection={self.source.name!r} api_url={self.api_url!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: its token source (which carries no token) and Box's URLs; no token."""
        return (BoxSession, (self.source, self.endpoints))

    def url(self, url: str) -> str:
        """An absolute URL: relative ones resolve against the API base."""
        return url if urlsplit(url).scheme else urljoin(self.api_url, url.lstrip("/"))

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request with a fresh token; refresh once and resend after a 401.

        Arguments are ``requests.Session.request``'s, and ``withhold_token=True`` sends no
        token (a pre-signed download link).
        """
        method = method.decode() if isinstance(method, bytes) else method
        url = require_secure(self.url(url.decode() if isinstance(url, bytes) else url))
        kwargs.update(zip(REQUEST_ARGUMENTS, args, strict=False))
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.pop("withhold_token", False):
            return self._finish(requests.Session.request(self, method, url, **kwargs))
        token = self.source.fresh()
        response = self._send(method, url, token, kwargs)
        if response.status_code == 401 and _replayable(kwargs):
            if isinstance(kwargs.get("data"), io.IOBase):
                kwargs["data"].seek(0)
            response.close()
            token = self.source.refresh(failed=token["access_token"])
            response = self._send(method, url, token, kwargs)
        return self._finish(response)

    def _send(
        self, method: str, url: str, token: Token, kwargs: dict[str, Any]
    ) -> requests.Response:
        self.token = dict(token)  # keep OAuth2Session's view in step with the source
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {token['access_token']}"
        try:
            return requests.Session.request(self, method, url, headers=headers, **kwargs)
        except requests.ConnectionError as exc:
            # urllib3 reports a read timeout whose retries ran out as "max retries exceeded";
            # give it back its own type, so that ``except requests.Timeout`` works.
            reason = getattr(exc.args[0] if exc.args else None, "reason", None)
            if isinstance(reason, ReadTimeoutError):
                raise requests.ReadTimeout(*exc.args, request=exc.request) from exc
            raise
        finally:
            kwargs["headers"] = headers

    def _finish(self, response: requests.Response) -> requests.Response:
        if self.raise_on_error and response.status_code >= 400:
            raise BoxAPIError.from_response(response)
        return response
