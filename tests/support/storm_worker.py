"""One process of a refresh storm (run as a script by ``storm_flow.Child``).

``python storm_worker.py '<json>'`` with ``{"client": ..., "threads": n, ...}``: import what the
client needs, print "ready", read "<start> <end>" (epoch seconds) from stdin, open the shared
connection and run ``threads`` threads that call ``users/me`` from ``start`` until ``end``; print
one JSON line of counts. A call started before ``end`` may run on for ``grace`` seconds (30 by
default). ``call_until`` (the threads) also serves the in-process storm test. Clients:

- ``box-widget``: ``BoxConnection(name).session`` (vault home and key from the environment);
- ``sdk-file`` / ``sdk-cached``: the official SDK's ``BoxClient`` with ``BoxOAuth`` storing its
  token in ``FileTokenStorage`` / ``FileWithInMemoryCacheTokenStorage`` at ``storage`` (a file
  every process shares), with ``client_id``, ``client_secret`` and the emulator's ``url``; the
  SDK's default network session otherwise (its retry strategy refreshes once after a 401).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any


def box_widget_call(config: dict[str, Any], on_401: Callable[[], None]) -> Callable[[], str]:
    from box_widget.connection import BoxConnection

    session = BoxConnection(config["name"]).session

    def count_401(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.status_code == 401:
            on_401()

    session.hooks["response"].append(count_401)
    return lambda: str(session.get("users/me").json()["id"])


def sdk_call(config: dict[str, Any], on_401: Callable[[], None]) -> Callable[[], str]:
    from box_sdk_gen import (
        BaseUrls,
        BoxClient,
        BoxOAuth,
        FileTokenStorage,
        FileWithInMemoryCacheTokenStorage,
        NetworkSession,
        OAuthConfig,
    )

    storage_class = (
        FileTokenStorage if config["client"] == "sdk-file" else FileWithInMemoryCacheTokenStorage
    )
    url = config["url"]
    auth = BoxOAuth(
        OAuthConfig(
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            token_storage=storage_class(config["storage"]),
        )
    )
    client = BoxClient(
        auth,
        network_session=NetworkSession().with_custom_base_urls(
            BaseUrls(base_url=url, upload_url=url + "/api", oauth_2_url=url + "/api/oauth2")
        ),
    )
    return lambda: str(client.users.get_user_me().id)


def describe(exc: Exception) -> str:
    """A failure in a few words, without timestamps (the SDK's messages carry one)."""
    info = getattr(exc, "response_info", None)
    if info is not None:  # the SDK's BoxAPIError: the answer it got, and to what
        body = info.body if isinstance(info.body, dict) else {}
        request = getattr(exc, "request_info", None)
        path = str(getattr(request, "url", "")).split("/", 3)[-1]
        return (
            f"{type(exc).__name__}: HTTP {info.status_code} from /{path}: "
            f"{body.get('error') or info.code or ''} "
            f"{body.get('error_description') or ''}"
        ).strip()
    message = getattr(exc, "message", None)
    return f"{type(exc).__name__}: {message or exc}"[:300]


CLIENTS = {"box-widget": box_widget_call, "sdk-file": sdk_call, "sdk-cached": sdk_call}


def call_until(
    call: Callable[[], str], threads: int, start: float, end: float, grace: float = 30.0
) -> dict[str, Any]:
    """``threads`` threads calling ``call`` from ``start`` until ``end`` (epoch seconds); what
    they saw. A call started before ``end`` may go on for ``grace`` seconds."""
    lock = threading.Lock()
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    users: set[str] = set()
    last_starts: list[float] = []

    def work() -> None:
        ok = bad = 0
        last = 0.0
        time.sleep(max(0.0, start - time.time()))
        while (now := time.time()) < end:
            last = now
            try:
                user = call()
                ok += 1
            except Exception as exc:
                bad += 1
                with lock:
                    failures[describe(exc)] += 1
            else:
                with lock:
                    users.add(user)
        with lock:
            counts["calls"] += ok + bad
            counts["ok"] += ok
            counts["failed"] += bad
            last_starts.append(last)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(1.0, end - time.time() + grace))
    return {
        "calls": counts["calls"],
        "ok": counts["ok"],
        "failed": counts["failed"],
        "failures": dict(failures),
        "users": sorted(users),
        "stuck": sum(w.is_alive() for w in workers),
        "last_start": max(last_starts, default=0.0),
    }


def main() -> None:
    config = json.loads(sys.argv[1])
    make_call = CLIENTS[config["client"]]
    if config["client"] == "box-widget":
        import box_widget.connection  # noqa: F401  (imports before "ready")
    else:
        import box_sdk_gen  # noqa: F401
    print("ready", flush=True)
    start, end = (float(x) for x in sys.stdin.readline().split())
    from_parent = time.time()
    unauthorized = 0
    lock = threading.Lock()

    def on_401() -> None:
        nonlocal unauthorized
        with lock:
            unauthorized += 1

    call = make_call(config, on_401)
    report = call_until(call, config["threads"], start, end, config.get("grace", 30.0))
    report.update(
        unauthorized=unauthorized if config["client"] == "box-widget" else None,
        late_start=from_parent - start,
    )
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
