"""``BoxSession``: a ``requests`` session for Box's API that keeps its own token fresh.

A ``requests_oauthlib.OAuth2Session`` subclass, so a ``requests.Session``: relative URLs resolve
against the API base (``session.get("users/me")``), absolute ones pass through. Before a request
the token is refreshed if it is within its margin of expiry; after a 401 it is refreshed once
(single-flight across threads and processes, see ``tokens``) and the request is sent again.
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
from .tokens import TokenKeeper
from .transport import require_secure


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


class BoxSession(OAuth2Session):  # type: ignore[misc]
    """An authenticated, self-refreshing session for one Box connection."""

    def __init__(
        self,
        keeper: TokenKeeper,
        endpoints: BoxEndpoints,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
    ) -> None:
        super().__init__(
            client_id=keeper.client.client_id,
            token=keeper.token,
            auto_refresh_url=endpoints.token_url,
        )
        self.keeper = keeper
        self.endpoints = endpoints
        self.api_url = endpoints.api_url.rstrip("/") + "/"
        self.timeout = timeout
        #: Raise ``BoxAPIError`` for 4xx/5xx answers (set False to get the response instead).
        self.raise_on_error = True
        adapter = HTTPAdapter(max_retries=retry if retry is not None else api_retry())
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"<BoxSession connection={self.keeper.name!r} api_url={self.api_url!r}>"

    def url(self, url: str) -> str:
        """An absolute URL: relative ones resolve against the API base."""
        return url if urlsplit(url).scheme else urljoin(self.api_url, url.lstrip("/"))

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request with a fresh token; refresh once and resend after a 401."""
        url = require_secure(self.url(url))
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.pop("withhold_token", False):
            return self._finish(requests.Session.request(self, method, url, **kwargs))
        token = self.keeper.fresh()
        response = self._send(method, url, token, kwargs)
        if response.status_code == 401 and _replayable(kwargs):
            if isinstance(kwargs.get("data"), io.IOBase):
                kwargs["data"].seek(0)
            response.close()
            token = self.keeper.refresh(failed=token["access_token"])
            response = self._send(method, url, token, kwargs)
        return self._finish(response)

    def _send(
        self, method: str, url: str, token: dict[str, Any], kwargs: dict[str, Any]
    ) -> requests.Response:
        self.token = token  # keep OAuth2Session's view in step with the keeper
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
