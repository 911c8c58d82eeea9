"""The OAuth callback under attack, on a real Jupyter server (pytest-jupyter) over real HTTP.

1. Property-based fuzzing (hypothesis) of the callback's raw query: missing, repeated, huge
   (64 KiB), non-UTF-8 and control-character parameters, forged and real-but-mismatched
   ``state``, ``error`` with HTML in ``error_description``. Never a 500 or a traceback, never a
   stored connection, never attacker-supplied markup or quotes back unescaped: the page is always
   the callback page's template, with only escaped text in its slots.
2. 500 callbacks with unknown states held open at once, while a second client polls the status
   API: every poll answered, 90 % of them under 1 s (the bound the issue names; the one poll
   queued behind the instant the 500 land waits for that whole run of the event loop), the
   pending folder within its cap while a kernel (another process) keeps adding sign-ins, every
   callback a 400, refused before any lock or thread (``check_pending``).

The requests go through ``http.client`` from a worker thread, so the bytes on the wire are
exactly the ones built here (no client re-quoting), while the server runs on the test's loop.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_server.utils import url_path_join
from test_server import CALLBACK, STATUS, Box, LogTap

from box_widget.server.pages import callback_page
from box_widget.vault import PENDING_LIMIT

pytestmark = pytest.mark.timeout(240)

#: Hypothesis examples for the fuzz test (derandomized: the same inputs in every run).
EXAMPLES = 300
#: The status codes a callback may answer with: the page (200, 400), a login redirect, a refusal.
ALLOWED = {200, 302, 400, 403, 404}
#: tornado's limit for a request's head (64 KiB): beyond it, the connection is closed unanswered.
HEAD_LIMIT = 65536
CLOSED = 0
SPECIAL = re.compile(r"[<>\"']")
PAGE = re.compile(
    r"(?s)^(.*?<title>)(.*?)(</title>.*?<h1 id=outcome class=)(ok|error)(>)(.*?)(</h1><p "
    r"id=detail>)(.*?)(</p></main><script type=application/json id=box-widget-result>)(.*?)"
    r"(</script><script>.*)$")
TEXT_SLOTS, CLASS_SLOT, JSON_SLOT = (1, 5, 7), 3, 9
CONCURRENT = 500


# --- the wire -----------------------------------------------------------------------------------


@dataclass
class Wire:
    """Raw HTTP to the test's Jupyter server, with its login token."""

    port: int
    base_url: str
    auth: dict[str, str]

    def get(self, path: str, raw_query: str = "", *, timeout: float = 30) -> tuple[int, str]:
        target = url_path_join(self.base_url, path) + (f"?{raw_query}" if raw_query else "")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", target, headers=self.auth)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except (ConnectionError, http.client.RemoteDisconnected):
            return CLOSED, ""  # the server closed the connection without an answer
        finally:
            conn.close()


@pytest.fixture
def wire(box: Box, jp_http_port: int, jp_auth_header: dict[str, str]) -> Wire:
    return Wire(jp_http_port, box.base_url, dict(jp_auth_header))


# --- what a safe page looks like ------------------------------------------------------------------


def slots(page: str) -> list[str] | None:
    """The page cut at the places where request-derived text can land; None if it is not the
    callback page at all."""
    match = PAGE.match(page)
    return list(match.groups()) if match else None


SKELETON = slots(callback_page(ok=False, title="t", detail="d", name=None))
assert SKELETON is not None


def check_page(status: int, body: str, sent: list[str], size: int) -> None:
    """A callback answer that reflects nothing: the template's skeleton around escaped slots."""
    if status == CLOSED:
        assert size > HEAD_LIMIT - 1024, f"a {size}-byte request went unanswered"
        return
    assert status in ALLOWED, f"status {status}: {body[:300]}"
    if status != 400:
        for value in sent:
            if len(value) >= 8 and SPECIAL.search(value):
                assert value not in body
        return
    parts = slots(body)
    assert parts is not None, f"not the callback page: {body[:300]}"
    for index, (mine, reference) in enumerate(zip(parts, SKELETON, strict=True)):
        if index in TEXT_SLOTS:
            assert not SPECIAL.search(mine), f"unescaped markup or quote in {mine[:200]!r}"
        elif index == CLASS_SLOT:
            assert mine in {"ok", "error"}
        elif index == JSON_SLOT:
            assert not re.search(r"[<>'&]", mine), f"unescaped character in {mine[:200]!r}"
            assert isinstance(json.loads(mine), dict)
        else:
            assert mine == reference, "the page's fixed parts changed"


# --- the attacker's queries -----------------------------------------------------------------------

NAMES = st.sampled_from(["code", "state", "error", "error_description", "next", "x"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
HTML = st.sampled_from([
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'-alert(1)-'",
    "</script><script>alert(document.cookie)</script>", "<!--", "]]>", "&lt;b&gt;",
    "\u2028</title><svg onload=alert(1)>",
])
CONTROL = st.binary(max_size=16).map(lambda b: bytes(c % 32 for c in b))
NON_UTF8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                            b"\x80abc", b"%", b"%zz"])
HUGE = st.sampled_from([b"A" * 65536, b"A" * 40000, b"<" * 16000, b"\x00" * 4096,
                        b"%" * 8192])


@st.composite
def raw_values(draw: st.DrawFn, pending: list[str]) -> bytes:
    """One attacker-chosen value, as bytes."""
    kind = draw(st.sampled_from(["text", "html", "control", "non-utf8", "huge", "state",
                                 "mixed"]))
    if kind == "text":
        return draw(TEXT).encode()
    if kind == "html":
        return draw(HTML).encode()
    if kind == "control":
        return draw(CONTROL)
    if kind == "non-utf8":
        return draw(NON_UTF8)
    if kind == "huge":
        return draw(HUGE)
    if kind == "state":
        return draw(st.sampled_from(pending)).encode() if pending else b"forged"
    return draw(HTML).encode() + draw(NON_UTF8) + draw(CONTROL)


@st.composite
def queries(draw: st.DrawFn, pending: list[str]) -> tuple[str, list[str]]:
    """A raw query string (percent-encoded bytes, repeated and odd separators included) and the
    texts the server may decode from it."""
    pairs = draw(st.lists(st.tuples(NAMES, raw_values(pending)), max_size=6))
    pieces, sent = [], []
    for name, value in pairs:
        style = draw(st.sampled_from(["pair", "pair", "pair", "bare", "empty"]))
        sent.append(value.decode("utf-8", "replace"))
        if style == "bare":
            pieces.append(name)
        elif style == "empty":
            pieces.append(f"{name}=")
        else:
            pieces.append(f"{name}={quote_from_bytes(value, safe='')}")
    separator = draw(st.sampled_from(["&", "&", ";", "&&"]))
    return separator.join(pieces), sent


# --- 1. fuzzing ---------------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: dict[int, int] = field(default_factory=dict)
    inputs: int = 0

    def count(self, status: int) -> None:
        self.inputs += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


def in_thread(work: Callable[[], Any]) -> Any:
    """Run blocking client code off the server's event loop."""
    return asyncio.get_running_loop().run_in_executor(None, work)


async def test_fuzzed_callback_queries_never_fail_store_or_reflect(
        box: Box, wire: Wire, log_tap: LogTap) -> None:
    pending = [box.start(f"n{i}").split("state=")[1] for i in range(4)]
    tally = Tally()

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(queries(pending))
    def attack(query: tuple[str, list[str]]) -> None:
        raw, sent = query
        status, body = wire.get(CALLBACK, raw)
        tally.count(status)
        check_page(status, body, sent, len(raw))
        assert box.vault.names() == [], "a fuzzed callback stored a connection"

    await in_thread(attack)
    status, body = await in_thread(lambda: wire.get(STATUS))
    assert status == 200
    assert json.loads(body)["connections"] == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0
    left = len(list((box.home / "pending").glob("*.box")))
    assert left < len(pending), "no fuzzed query reached a real pending sign-in"
    errors = [line for line in log_tap.lines if " ERROR " in line or "Traceback" in line]
    assert not errors, errors[:3]
    assert tally.inputs >= EXAMPLES
    assert tally.statuses.get(400, 0) > EXAMPLES // 2
    print(f"\nfuzzed callback: {tally.inputs} inputs, statuses {sorted(tally.statuses.items())} "
          f"({CLOSED}: a request head over {HEAD_LIMIT} bytes, closed by tornado unanswered)")


# --- 2. a flood of callbacks --------------------------------------------------------------------


GENERATE = """
import json, sys
from box_widget import BoxConnection, BoxEndpoints
a = json.loads(sys.argv[1])
for i in range(a["count"]):
    BoxConnection(f"k{i % 8}", client_id=a["client_id"], client_secret=a["client_secret"],
                  redirect_uri=a["redirect_uri"], endpoints=BoxEndpoints(**a["endpoints"]),
                  home=a["home"]).authorization_url()
"""


FLOOD = r"""
import asyncio, json, sys
port, target, header, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

async def flood():
    # Open every connection first, then send a callback on each at once: all held together.
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    for n, (_, writer) in enumerate(streams):
        state = f"unknown-{n}-" + "s" * 40
        writer.write(f"GET {target}?code=c{n}&state={state} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"{header}Connection: close\r\n\r\n".encode())
    statuses = []
    for reader, writer in streams:
        line = await asyncio.wait_for(reader.readline(), 60)
        statuses.append(int(line.split()[1]))
        await reader.read()
        writer.close()
    return statuses

print(json.dumps(asyncio.run(flood())))
"""
WATCH = r"""
import http.client, json, sys, time
from pathlib import Path
port, target, token, pending, stop = sys.argv[1:6]
latencies, counts = [], []
# One kept-alive connection, as a browser tab polls: it never waits in the listen queue that
# the flood fills (a new connection would, and the kernel retries a dropped SYN after 1 s).
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
print("watching", flush=True)
while not Path(stop).exists():
    started = time.perf_counter()
    conn.request("GET", target, headers={"Authorization": token})
    answer = conn.getresponse()
    answer.read()
    latencies.append(time.perf_counter() - started)
    assert answer.status == 200, answer.status
    counts.append(len(list(Path(pending).glob("*.box"))))
    time.sleep(0.005)
print(json.dumps({"latencies": latencies, "counts": counts}))
"""


@pytest.fixture
def production_logging() -> Iterator[None]:
    """No DEBUG records, as deployed (the suite's DEBUG logging costs more than the routes)."""
    logging.disable(logging.DEBUG)
    yield
    logging.disable(logging.NOTSET)


def python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))


@pytest.mark.usefixtures("production_logging")
async def test_a_flood_of_unknown_callbacks_leaves_the_status_api_answering(
        box: Box, wire: Wire, tmp_path: Path) -> None:
    """The attacker, the watcher and the kernel are other processes, as they would be."""
    pending, stop = box.home / "pending", tmp_path / "stop"
    header = "".join(f"{k}: {v}\r\n" for k, v in wire.auth.items())
    watcher = python(WATCH, str(wire.port), url_path_join(box.base_url, STATUS),
                     wire.auth["Authorization"], str(pending), str(stop))
    children = [watcher]
    try:
        assert watcher.stdout is not None
        assert (await in_thread(watcher.stdout.readline)).strip() == "watching"
        kernel = python(GENERATE, json.dumps({
            "client_id": box.app.client_id, "client_secret": box.app.client_secret,
            "redirect_uri": box.redirect_uri, "endpoints": box.emu.endpoints.to_dict(),
            "home": str(box.home), "count": PENDING_LIMIT + 8}))
        started, cpu = time.perf_counter(), time.process_time()
        flood = python(FLOOD, str(wire.port), url_path_join(box.base_url, CALLBACK), header,
                       str(CONCURRENT))
        children += [kernel, flood]
        out, _ = await in_thread(lambda: flood.communicate(timeout=120))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert await in_thread(lambda: kernel.wait(60)) == 0
        stop.touch()
        seen, _ = await in_thread(lambda: watcher.communicate(timeout=30))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert flood.returncode == 0
    assert json.loads(out) == [400] * CONCURRENT
    assert watcher.returncode == 0
    watched = json.loads(seen)
    latencies, counts = watched["latencies"], watched["counts"]
    assert len(latencies) >= 5, "the status API was hardly polled during the flood"
    # Every poll was answered (200, within the 10 s client timeout). Nearly all within the
    # issue's 1 s: the 500 requests land in one instant, and the event loop handles them in one
    # run (~1 s of CPU, most of it Jupyter's own login check and request log), so the one poll
    # waiting behind that run can take longer on a busy machine; never more than a few seconds.
    ordered = sorted(latencies)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    assert p90 < 1.0, f"status answered in {p90:.2f} s (90th percentile) during the flood"
    assert max(latencies) < 5.0, f"status answered in {max(latencies):.2f} s during the flood"
    assert max(counts) <= PENDING_LIMIT
    assert len(list(pending.glob("*.box"))) == PENDING_LIMIT
    assert box.vault.names() == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0
    median, worst = 1000 * statistics.median(latencies), 1000 * max(latencies)
    print(f"\n{CONCURRENT} concurrent unknown-state callbacks in {elapsed:.1f} s ({cpu:.1f} s "
          f"of the server process's CPU); status API polled {len(latencies)} times meanwhile: "
          f"median {median:.0f} ms, p90 {1000 * p90:.0f} ms, max {worst:.0f} ms; pending "
          f"records at most {max(counts)} (cap {PENDING_LIMIT})")


def test_the_wire_sends_exact_bytes() -> None:
    """The fuzz relies on http.client passing the query through untouched."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    received: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        received.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=accept)
    thread.start()
    Wire(port, "/", {}).get("cb", "a=%FF%00&a=%zz;b")
    thread.join(10)
    server.close()
    assert received[0].startswith(b"GET /cb?a=%FF%00&a=%zz;b HTTP/1.1\r\n")
