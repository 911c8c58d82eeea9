"""Downscoped tokens (Box's token exchange), as the emulator serves them.

``POST /oauth2/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, a
``subject_token`` (a live access token), ``subject_token_type`` and a space-separated ``scope``
gives a token restricted to those scopes: no refresh token, ``issued_token_type`` set, living no
longer than its parent, and dead as soon as its parent is revoked (docs/box-platform.md, 13).

Box's standard OAuth scopes are accepted too ("The standard OAuth scopes are also supported when
downscoping", Box's scopes guide): ``root_readonly`` lets a downscoped token read everything the
user can and write nothing; ``root_readwrite`` both. For the UI Elements' scopes, which scope each
route needs is the emulator's own table (``SCOPE_FOR``): Box names those scopes but documents no
route-by-route table; a route not in it refuses them.
"""

from __future__ import annotations

import re

#: The scopes a token may be downscoped to (OpenAPI ``ResourceScope.scope``).
DOWNSCOPES = frozenset(
    {
        "annotation_edit",
        "annotation_view_all",
        "annotation_view_self",
        "base_explorer",
        "base_picker",
        "base_preview",
        "base_upload",
        "item_delete",
        "item_download",
        "item_preview",
        "item_rename",
        "item_share",
        "item_upload",
        "item_read",
    }
)
#: Box's standard OAuth scopes that matter here, also accepted when downscoping.
STANDARD = frozenset({"root_readonly", "root_readwrite"})
#: The downscoped scopes a parent token's app scope holds (a read-only token: reading only).
READING = frozenset(
    {"annotation_view_all", "annotation_view_self", "base_explorer", "base_picker"}
    | {"base_preview", "item_download", "item_preview", "item_read"}
)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

_ID = r"\d+"
#: (method, path pattern, the scopes any one of which lets a downscoped token through).
SCOPE_FOR: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = tuple(
    (method, re.compile(pattern), frozenset(scopes))
    for method, pattern, scopes in (
        ("GET", r"/2\.0/users/me", DOWNSCOPES),
        ("GET", rf"/2\.0/folders/{_ID}(/items)?", {"base_explorer", "base_picker", "item_read"}),
        ("GET", rf"/2\.0/files/{_ID}", {"base_explorer", "base_picker", "item_read"}),
        ("GET", rf"/2\.0/files/{_ID}/content", {"item_download"}),
        ("OPTIONS", r"/2\.0/files/content", {"item_upload", "base_upload"}),
        ("POST", r"/2\.0/folders", {"item_upload", "base_upload"}),
        ("POST", rf"/2\.0/files/{_ID}/copy", {"item_upload", "base_upload"}),
        ("POST", rf"/api/2\.0/files/({_ID}/)?content", {"item_upload", "base_upload"}),
        ("POST", rf"/api/2\.0/files/({_ID}/)?upload_sessions", {"item_upload", "base_upload"}),
        ("PUT", rf"/api/2\.0/files/upload_sessions/{_ID}", {"item_upload", "base_upload"}),
        ("GET", rf"/api/2\.0/files/upload_sessions/{_ID}(/parts)?", {"item_upload"}),
        ("POST", rf"/api/2\.0/files/upload_sessions/{_ID}/commit", {"item_upload"}),
        ("DELETE", rf"/api/2\.0/files/upload_sessions/{_ID}", {"item_upload"}),
        ("PUT", rf"/2\.0/(files|folders)/{_ID}", {"item_rename"}),
        ("DELETE", rf"/2\.0/(files|folders)/{_ID}", {"item_delete"}),
    )
)


def allowed(method: str, path: str, scopes: tuple[str, ...]) -> bool:
    """Whether a token downscoped to ``scopes`` may call ``method path``."""
    if "root_readwrite" in scopes or ("root_readonly" in scopes and method in {"GET", "HEAD"}):
        return True
    for wanted, pattern, enough in SCOPE_FOR:
        if wanted == method and pattern.fullmatch(path):
            return bool(enough & set(scopes))
    return False


def held_by(app_scopes: tuple[str, ...]) -> frozenset[str]:
    """The downscoped scopes a token with ``app_scopes`` may be exchanged for."""
    if "root_readwrite" in app_scopes:
        return DOWNSCOPES | STANDARD
    return READING | {"root_readonly"}
