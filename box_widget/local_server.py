"""The Jupyter server this process runs under, found and asked without importing jupyter_server.

A kernel the server started has ``JPY_PARENT_PID``: jupyter_client's launcher sets it to the
server's process id (on Windows it is a handle instead, so the parent process id is tried too).
A terminal the server opened has ``JUPYTER_SERVER_URL`` (jupyter_server_terminals). Every running
server writes ``jpserver-<pid>.json`` in Jupyter's runtime folder
(``jupyter_core.paths.jupyter_runtime_dir()``, as ``jupyter server list`` reads them): its
address, base URL and login token, which this process sends, over loopback, as
``Authorization: token ...`` (never in a URL, never logged).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .authority import Authority
from .errors import AuthorityUnreachable
from .transport import require_secure

WILDCARDS = {"", "0.0.0.0", "*"}  # noqa: S104 - names of addresses, not a bind
#: What to do when the server cannot be found or reached, after what happened.
HOW_TO = (
    "This connection uses the Jupyter server's Box app, whose secret only that server holds: "
    "run this in a notebook on that server, or connect with your own Client ID and Client "
    "Secret."
)


def runtime_dir() -> Path:
    """Jupyter's runtime folder, where running servers describe themselves."""
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def local_server(url: str, pid: int, token: str) -> Authority:
    """The Jupyter server at ``url`` (process ``pid``) as a token authority."""
    return Authority(
        url=url,
        token=token,
        label=f"The Jupyter server at {url} (process {pid})",
        how_to=HOW_TO,
        refused="refused this process's login token, or your Jupyter account lacks the "
        "'write' permission on box_widget",
        missing="has no box-widget token API (its box_widget extension is off, or older)",
    )


def _read(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _server(info: dict[str, Any], path: Path) -> Authority:
    """The server an info file describes, reached over loopback where it listens everywhere."""
    if info.get("sock"):
        msg = (
            f"The Jupyter server described in {path} listens on a Unix socket, which "
            "box-widget cannot reach; start it with --port instead."
        )
        raise AuthorityUnreachable(msg, tried=(str(path),))
    host = str(info.get("hostname") or "localhost")
    host = "127.0.0.1" if host in WILDCARDS else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if info.get("secure") else "http"
    base = "/" + str(info.get("base_url") or "/").strip("/")
    url = f"{scheme}://{host}:{int(info['port'])}{base.rstrip('/')}/"
    return local_server(require_secure(url), int(info["pid"]), str(info.get("token") or ""))


def find_server() -> Authority:
    """The Jupyter server that started this process (or its terminal), or an
    ``AuthorityUnreachable`` saying where it was looked for."""
    folder = runtime_dir()
    tried: list[str] = []
    pids: list[int] = []
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit() and os.name != "nt":
        pids.append(int(parent))
    pids.append(os.getppid())
    for pid in dict.fromkeys(pids):
        path = folder / f"jpserver-{pid}.json"
        tried.append(str(path))
        info = _read(path)
        if info is not None and info.get("pid") == pid:
            return _server(info, path)
    url = os.environ.get("JUPYTER_SERVER_URL")
    if url:
        tried.append(f"a server file in {folder} with the url {url}")
        for path in sorted(folder.glob("jpserver-*.json")):
            info = _read(path)
            if info is not None and info.get("url") == url and "pid" in info:
                return _server(info, path)
    msg = f"No Jupyter server could be found from this process (looked for {'; '.join(tried)})."
    raise AuthorityUnreachable(msg, tried=tuple(tried))
