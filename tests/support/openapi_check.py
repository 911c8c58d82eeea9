"""Check the emulator's HTTP answers against Box's own OpenAPI description.

Usage in a test::

    from support.openapi_check import check_response

    r = requests.post(f"{emu.url}/oauth2/token", data={...}, timeout=5)
    body = check_response(r).body        # raises OpenAPIMismatch when Box's spec disagrees

What is checked, for the request that produced ``response``:

1. the operation: the method and the path, matched against the spec's path templates *under the
   server each operation is served from*. The emulator serves every Box host on one origin, at the
   path of that host's server URL (docs/emulator.md, "Layout")::

       https://account.box.com/api/oauth2  /authorize        ->  /api/oauth2/authorize
       https://api.box.com                 /oauth2/token     ->  /oauth2/token
       https://api.box.com/2.0             /users/me         ->  /2.0/users/me
       https://upload.box.com/api/2.0      /files/content    ->  /api/2.0/files/content

   so an operation matches when ``request path == path(server URL) + path template``, using the
   operation's own ``servers`` (else the path's, else the document's). An upload served under
   ``/2.0`` is reported as being on the wrong host;
2. the status: declared exactly, by range (``4XX``) or by ``default``;
3. the body: its media type must be declared; a JSON body must parse and validate against the
   declared schema (OpenAPI 3.0 semantics, ``nullable`` included, read direction, ``$ref``\\ s
   resolved in the document, ``date-time`` checked). An empty body is an error only for a 2xx
   status that declares content (Box answers a bad token with a bare 401, redirects with a bare
   302);
4. declared headers: present when ``required``, and of the declared type when present.

:func:`check_request` does the same for a request body (form or JSON), for tests that want to
prove they send what Box documents.

The spec is read from ``$BOX_OPENAPI_SPEC``, else ``<repo>/../shared/box-openapi/openapi.json``,
once per test session. When it is missing the calling test is skipped on a laptop and failed in CI
(``conftest.require``).

Known spec quirks, tolerated here (docs/box-platform.md section 11):

* ``PostOAuth2Revoke`` lists ``required: ["grant_type"]`` although it has no such property and
  Box's docs send none: the ``required`` is dropped;
* ``AccessToken.issued_token_type`` is described as "only returned if an access token has been
  downscoped", while Box's docs show it on ordinary OAuth 2.0 answers, and show the value
  ``bearer`` for JWT/CCG tokens: the property is accepted on any token, with either value;
* ``ClientError.code`` is an ``enum`` of 17 generic codes, while Box documents and sends many
  more (``item_name_in_use``, ``rate_limit_exceeded``, ``metadata_after_file_contents``,
  ``file_size_too_small``... DOC-err, DOC-rate, OAS operation descriptions): any string is
  accepted;
* ``nullable: true`` written next to ``allOf`` with no ``type`` (``Folder.parent``,
  ``File.shared_link``, ``File--Full.classification``...; 17 places). OpenAPI 3.0.3 gives such a
  ``nullable`` no effect, yet the descriptions say the value "may be ``null`` ... such as the root
  folder" and Box sends ``null``: these schemas accept ``null``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from conftest import require
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry
from referencing.jsonschema import DRAFT4

__all__ = [
    "DEFAULT_SPEC_PATH",
    "SPEC_ENV_VAR",
    "BoxOpenAPI",
    "OpenAPIMismatch",
    "OperationOnWrongHost",
    "SpecMatch",
    "UndescribedOperation",
    "check_request",
    "check_response",
    "load_spec",
    "spec_path",
]

#: The environment variable naming Box's ``openapi.json``.
SPEC_ENV_VAR = "BOX_OPENAPI_SPEC"
#: Where the spec lives next to the repository when the variable is not set.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "box-openapi" / "openapi.json"
#: The URI the spec is registered under, for ``$ref`` resolution (never fetched).
_SPEC_URI = "urn:box-openapi:openapi.json"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: The path prefixes at which the emulator serves Box's hosts (docs/emulator.md, "Layout").
_EMULATOR_PREFIXES = ("/api/oauth2", "/api/2.0", "/2.0", "")
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


class OpenAPIMismatch(AssertionError):
    """A response (or request) that Box's OpenAPI description does not allow."""


class UndescribedOperation(OpenAPIMismatch):
    """No operation in Box's OpenAPI description has this method and path (``/dl/...``,
    ``/_emulator/...``, an unknown route): there is nothing to check the answer against."""


class OperationOnWrongHost(OpenAPIMismatch):
    """Box describes this operation, but on another host than the one the emulator served it
    from (e.g. ``POST /2.0/files/content``: Box uploads on ``upload.box.com``, ``/api/2.0``)."""


@dataclass(frozen=True)
class _Route:
    """One operation under one of its servers, as the emulator serves it."""

    method: str
    #: Matches the emulator path: the server URL's path, then the template.
    regex: re.Pattern[str]
    #: Matches the template alone, to tell "wrong host" from "unknown path".
    bare: re.Pattern[str]
    template: str
    server: str
    literal_chars: int
    pointer: str


@dataclass(frozen=True)
class SpecMatch:
    """What :func:`check_response` found: the operation, and the response it matched."""

    operation_id: str
    method: str
    #: The spec's path template, e.g. ``/files/{file_id}/content``.
    path: str
    #: The Box URL the request stands for, e.g. ``https://api.box.com/2.0/users/me``.
    box_url: str
    #: The ``responses`` key that declared the status: ``"200"``, ``"4XX"`` or ``"default"``.
    status_key: str
    #: The declared media type the body matched, or ``None`` for an empty body.
    media_type: str | None
    #: The parsed JSON body (``None`` unless the body is JSON).
    body: Any


def _pointer_escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _check_date_time(instance: object) -> bool:
    """RFC 3339 date-time with an offset, as Box writes them (``2012-12-12T10:53:43-08:00``)."""
    if not isinstance(instance, str):
        return True
    try:
        parsed = datetime.fromisoformat(instance.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in instance.upper() and parsed.tzinfo is not None


def _check_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        date.fromisoformat(instance)
    except ValueError:
        return False
    return True


def _format_checker() -> FormatChecker:
    """OpenAPI 3.0's format checks plus ``date-time`` and ``date``."""
    checker = copy.deepcopy(oas30_format_checker)
    checker.checks("date-time")(_check_date_time)
    checker.checks("date")(_check_date)
    return checker


def _patch_quirks(spec: dict[str, Any]) -> None:
    """Tolerate the spec's known mistakes (see the module docstring)."""
    schemas = spec.get("components", {}).get("schemas", {})
    revoke = schemas.get("PostOAuth2Revoke", {})
    if revoke.get("required") == ["grant_type"] and "grant_type" not in revoke.get(
        "properties", {}
    ):
        del revoke["required"]
    issued = schemas.get("AccessToken", {}).get("properties", {}).get("issued_token_type", {})
    if "enum" in issued and "bearer" not in issued["enum"]:
        issued["enum"] = [*issued["enum"], "bearer"]
    code = schemas.get("ClientError", {}).get("properties", {}).get("code", {})
    code.pop("enum", None)
    _allow_untyped_nullable(spec)


def _is_bare_nullable(node: object) -> bool:
    """A schema saying only ``nullable: true`` (and maybe a description), with no ``type``."""
    return (
        isinstance(node, dict)
        and node.get("nullable") is True
        and "type" not in node
        and set(node) <= {"nullable", "description"}
    )


def _allow_untyped_nullable(node: Any) -> None:
    """Make ``nullable: true`` without ``type`` (beside ``allOf``, or as an ``allOf`` member) mean
    "or null": the schema becomes ``anyOf: [null, <the schema>]``, in place, bottom-up."""
    if isinstance(node, list):
        for item in node:
            _allow_untyped_nullable(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _allow_untyped_nullable(value)
    members: list[Any] = node["allOf"] if isinstance(node.get("allOf"), list) else []
    bare = [m for m in members if _is_bare_nullable(m)]
    untyped = node.get("nullable") is True and "type" not in node and not _is_bare_nullable(node)
    if not (bare or untyped):
        return
    inner = {k: v for k, v in node.items() if k != "nullable"}
    if bare:
        inner["allOf"] = [m for m in members if not _is_bare_nullable(m)]
    node.clear()
    node["anyOf"] = [{"enum": [None]}, inner]


def _path_regex(template: str) -> tuple[re.Pattern[str], int]:
    """A regex for a path template, and how many literal characters it has."""
    parts = re.split(r"(\{[^}/]+\})", template)
    literal = sum(len(p) for p in parts if not p.startswith("{"))
    body = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$"), literal


def _server_url(server: Mapping[str, Any]) -> str:
    """A server's URL, its variables set to their defaults, without a trailing slash."""
    url = str(server["url"])
    for name, var in server.get("variables", {}).items():
        url = url.replace("{" + name + "}", str(var.get("default", "")))
    return url.rstrip("/")


class BoxOpenAPI:
    """Box's OpenAPI description, indexed for matching emulator requests to operations."""

    def __init__(self, spec: dict[str, Any]) -> None:
        _patch_quirks(spec)
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT4.create_resource(spec)
        )
        self.format_checker = _format_checker()
        self.routes = list(self._routes())
        self._validators: dict[tuple[str, str], Any] = {}

    def _routes(self) -> Iterator[_Route]:
        root_servers = self.spec.get("servers") or [{"url": "/"}]
        for template, item in self.spec["paths"].items():
            if "#" in template:  # Box's "variations" (e.g. /oauth2/token#refresh): not a URL
                continue
            for method in _METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                servers = operation.get("servers") or item.get("servers") or root_servers
                pointer = f"/paths/{_pointer_escape(template)}/{method}"
                bare, literal = _path_regex(template)
                for server in servers:
                    url = _server_url(server)
                    regex, _ = _path_regex(urlsplit(url).path + template)
                    yield _Route(method, regex, bare, template, url, literal, pointer)

    def find_operation(self, method: str, path: str) -> tuple[_Route, dict[str, Any]]:
        """The operation serving ``method path`` on the emulator, most specific template first.

        Raises :class:`UndescribedOperation` when no operation matches, and
        :class:`OperationOnWrongHost` when a more specific operation exists for the same path on
        another Box host (``POST /2.0/files/content``, which Box serves from ``upload.box.com``,
        would otherwise match ``POST /files/{file_id}``, restore-from-trash).
        """
        method = method.lower()
        candidates = [r for r in self.routes if r.regex.match(path)]
        matching = [r for r in candidates if r.method == method]
        route = max(matching, key=lambda r: r.literal_chars) if matching else None
        for prefix in _EMULATOR_PREFIXES:
            if not path.startswith(prefix + "/"):
                continue
            elsewhere = [
                r
                for r in self.routes
                if r.method == method
                and r.bare.match(path[len(prefix) :])
                and (route is None or r.literal_chars > route.literal_chars)
            ]
            if elsewhere:
                best = max(elsewhere, key=lambda r: r.literal_chars)
                msg = (
                    f"{method.upper()} {path!r}: Box serves {best.template!r} from "
                    f"{best.server}, which the emulator serves under "
                    f"{urlsplit(best.server).path or '/'!r}, not {prefix!r}"
                )
                raise OperationOnWrongHost(msg)
        if route is None:
            if candidates:
                allowed = sorted({r.method.upper() for r in candidates})
                msg = f"Box's OpenAPI description has no {method.upper()} {path!r} (only {allowed})"
            else:
                msg = f"{path!r} is not a path of any operation in Box's OpenAPI description"
            raise UndescribedOperation(msg)
        return route, self.resolve(route.pointer)

    def resolve(self, pointer: str) -> Any:
        """The spec node at a JSON pointer (``/paths/...``), following a ``$ref`` there."""
        node: Any = self.spec
        for raw in pointer.lstrip("/").split("/"):
            node = node[raw.replace("~1", "/").replace("~0", "~")]
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                msg = f"external $ref not supported: {ref}"
                raise ValueError(msg)
            node = self.resolve(ref[1:])
        return node

    def validate(self, pointer: str, instance: Any, *, direction: str = "read") -> None:
        """Validate ``instance`` against the schema at ``pointer``; raise on any error."""
        key = (pointer, direction)
        validator = self._validators.get(key)
        if validator is None:
            cls = OAS30ReadValidator if direction == "read" else OAS30WriteValidator
            validator = cls(
                {"$ref": f"{_SPEC_URI}#{pointer}"},
                registry=self.registry,
                format_checker=self.format_checker,
            )
            self._validators[key] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            raise OpenAPIMismatch(_describe(errors, pointer))


def _describe(errors: list[ValidationError], pointer: str) -> str:
    lines = [f"{len(errors)} error(s) against {pointer}:"]
    for error in errors[:10]:
        where = "/".join(str(p) for p in error.absolute_path) or "<body>"
        lines.append(f"  at {where}: {error.message}")
    return "\n".join(lines)


@functools.cache
def spec_path() -> Path:
    """Where Box's ``openapi.json`` is expected: ``$BOX_OPENAPI_SPEC`` or next to the repo.

    Read once per session: tests that clear ``BOX_*`` variables for the code under test must
    not change where the checker looks."""
    configured = os.environ.get(SPEC_ENV_VAR)
    return Path(configured) if configured else DEFAULT_SPEC_PATH


@functools.cache
def _load(path: str) -> BoxOpenAPI:
    with open(path, encoding="utf-8") as f:
        return BoxOpenAPI(json.load(f))


def load_spec() -> BoxOpenAPI:
    """Box's OpenAPI description, loaded once per session; skip (laptop) or fail (CI) if absent."""
    path = spec_path()
    require(path.is_file(), f"Box's OpenAPI description not found at {path} (set {SPEC_ENV_VAR})")
    return _load(str(path.resolve()))


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _declared_media(content: Mapping[str, Any], media: str) -> str | None:
    """The declared media type key matching ``media`` (exact, ``type/*``, ``*/*``)."""
    lowered = {key.lower(): key for key in content}
    for candidate in (media, media.split("/", 1)[0] + "/*", "*/*"):
        if candidate in lowered:
            return lowered[candidate]
    return None


def _status_key(responses: Mapping[str, Any], status: int) -> str | None:
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            return key
    return None


def _coerce_header(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def check_response(response: requests.Response) -> SpecMatch:
    """Check an emulator response against Box's OpenAPI description.

    Parameters
    ----------
    response
        A response from the emulator; ``response.request`` gives the method and path.

    Returns
    -------
    SpecMatch
        The operation and the declared response it matched, and the parsed JSON body.

    Raises
    ------
    OpenAPIMismatch
        The operation, the status, the media type, a header or the body is not what Box's spec
        declares. It is an ``AssertionError``, so pytest reports it as a failed check.
    """
    api = load_spec()
    request = response.request
    method = str(request.method)
    path = urlsplit(str(request.url)).path
    route, operation = api.find_operation(method, path)
    where = f"{method} {path} ({operation.get('operationId')}, {route.template})"
    responses = operation.get("responses", {})
    status_key = _status_key(responses, response.status_code)
    if status_key is None:
        msg = f"{where}: status {response.status_code} is not declared ({sorted(responses)})"
        raise OpenAPIMismatch(msg)
    pointer = f"{route.pointer}/responses/{_pointer_escape(status_key)}"
    declared = api.resolve(pointer)

    for name, header in declared.get("headers", {}).items():
        header = api.resolve(f"{pointer}/headers/{_pointer_escape(name)}")
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                msg = f"{where}: required header {name!r} is missing"
                raise OpenAPIMismatch(msg)
            continue
        if "schema" in header:
            header_pointer = f"{pointer}/headers/{_pointer_escape(name)}/schema"
            try:
                api.validate(header_pointer, _coerce_header(value, header["schema"]))
            except OpenAPIMismatch as exc:
                msg = f"{where}: header {name}: {exc}"
                raise OpenAPIMismatch(msg) from None

    content: Mapping[str, Any] = declared.get("content") or {}
    raw = response.content
    if not raw:
        if content and 200 <= response.status_code < 300:
            msg = f"{where}: empty body, but the spec declares {sorted(content)}"
            raise OpenAPIMismatch(msg)
        return SpecMatch(
            str(operation.get("operationId")),
            method,
            route.template,
            route.server + route.template,
            status_key,
            None,
            None,
        )
    if not content:
        msg = f"{where}: status {status_key} declares no body, got {len(raw)} bytes"
        raise OpenAPIMismatch(msg)
    media = _media_type(response.headers.get("Content-Type"))
    key = _declared_media(content, media) if media else None
    if key is None:
        msg = f"{where}: Content-Type {media!r} is not declared ({sorted(content)})"
        raise OpenAPIMismatch(msg)
    body: Any = None
    if media and _JSON_MEDIA.match(media):
        try:
            body = json.loads(raw)
        except ValueError as exc:
            msg = f"{where}: body is not JSON: {raw[:200]!r}"
            raise OpenAPIMismatch(msg) from exc
        if "schema" in content[key]:
            try:
                api.validate(f"{pointer}/content/{_pointer_escape(key)}/schema", body)
            except OpenAPIMismatch as exc:
                msg = f"{where}: status {response.status_code}: {exc}"
                raise OpenAPIMismatch(msg) from None
    return SpecMatch(
        str(operation.get("operationId")),
        method,
        route.template,
        route.server + route.template,
        status_key,
        key,
        body,
    )


def check_request(request: requests.PreparedRequest) -> None:
    """Check a request body (form-encoded or JSON) against the operation's ``requestBody``.

    A form field sent twice, or a body whose media type the operation does not declare, is a
    mismatch; a request without a body passes unless the spec marks the body ``required``.
    """
    api = load_spec()
    method = str(request.method)
    path = urlsplit(str(request.url)).path
    route, operation = api.find_operation(method, path)
    where = f"{method} {path} ({operation.get('operationId')})"
    body = request.body or b""
    raw = body.encode() if isinstance(body, str) else body
    request_body = operation.get("requestBody")
    if request_body is None:
        if raw:
            msg = f"{where}: the spec declares no request body"
            raise OpenAPIMismatch(msg)
        return
    if not raw:
        if request_body.get("required"):
            msg = f"{where}: the request body is required"
            raise OpenAPIMismatch(msg)
        return
    media = _media_type(request.headers.get("Content-Type"))
    content = request_body.get("content", {})
    key = _declared_media(content, media) if media else None
    if key is None:
        msg = f"{where}: Content-Type {media!r} is not declared ({sorted(content)})"
        raise OpenAPIMismatch(msg)
    if media == "application/x-www-form-urlencoded":
        pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        names = [name for name, _ in pairs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            msg = f"{where}: form fields sent more than once: {repeated}"
            raise OpenAPIMismatch(msg)
        instance: Any = dict(pairs)
    elif media and _JSON_MEDIA.match(media):
        instance = json.loads(raw)
    else:
        return
    schema_pointer = f"{route.pointer}/requestBody/content/{_pointer_escape(key)}/schema"
    try:
        api.validate(schema_pointer, instance, direction="write")
    except OpenAPIMismatch as exc:
        msg = f"{where}: {exc}"
        raise OpenAPIMismatch(msg) from None
