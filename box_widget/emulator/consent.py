"""Drive the emulator's consent page over HTTP, as a browser would (for tests and scripts)."""

from __future__ import annotations

import re
from html import unescape

import requests

CONSENT_FIELD = re.compile(r'name=consent value="([^"]+)"')
ERROR_CODE = re.compile(r"<code id=error>([^<]*)</code>")


class ConsentPageError(Exception):
    """The authorize page showed an error instead of the consent form."""

    def __init__(self, error: str, status: int) -> None:
        super().__init__(f"the authorize page showed {error!r} (HTTP {status})")
        self.error = error
        self.status = status


def consent(authorize_url: str, *, user_id: str, grant: bool = True, timeout: float = 10) -> str:
    """Open ``authorize_url``, grant or deny as ``user_id``; return where Box redirects to."""
    with requests.Session() as browser:
        page = browser.get(authorize_url, allow_redirects=False, timeout=timeout)
        if page.is_redirect:
            return str(page.headers["Location"])
        match = CONSENT_FIELD.search(page.text)
        if page.status_code != 200 or match is None:
            error = ERROR_CODE.search(page.text)
            raise ConsentPageError(unescape(error[1]) if error else "unknown", page.status_code)
        answer = browser.post(
            authorize_url.split("?", 1)[0],
            data={
                "consent": unescape(match[1]),
                "user_id": user_id,
                "decision": "grant" if grant else "deny",
            },
            allow_redirects=False,
            timeout=timeout,
        )
        if not answer.is_redirect:
            error = ERROR_CODE.search(answer.text)
            raise ConsentPageError(unescape(error[1]) if error else "unknown", answer.status_code)
        return str(answer.headers["Location"])
