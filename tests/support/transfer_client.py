"""A measured transfer client, run in its own process so that its peak memory is its own.

    python transfer_client.py download boxfs CONNECTION PATH
    python transfer_client.py upload   boxfs CONNECTION LOCAL_FILE PATH
    python transfer_client.py download sdk   EMULATOR_URL FILE_ID
    python transfer_client.py upload   sdk   EMULATOR_URL LOCAL_FILE FOLDER_ID

``boxfs`` goes through ``box://`` (the connection comes from the vault in ``BOX_WIDGET_HOME``);
``sdk`` goes through the official SDK (``box_sdk_gen``) with the access token in
``BOX_TRANSFER_TOKEN``. A download is hashed as it arrives (nothing is written to disk). Prints
one JSON object: bytes, seconds, the SHA-1, and the process's peak resident memory before and
after the transfer (``VmHWM``). Used by tests/test_boxfs_transfers.py and bench/transfers.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
import time
from typing import Any


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes: ``VmHWM`` of /proc/self/status.

    Not ``getrusage().ru_maxrss``: Linux carries that over ``execve`` from the process that
    spawned us (Python spawns with ``vfork``, so it would report the parent's size, pytest's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class HashingSink:
    """A write-only file that keeps the SHA-1 and the length of what is written to it."""

    def __init__(self) -> None:
        self.sha1 = hashlib.sha1()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha1.update(data)
        self.size += len(data)
        return len(data)


def sdk_client(url: str) -> Any:
    from box_sdk_gen import BaseUrls, BoxClient, BoxDeveloperTokenAuth, NetworkSession

    auth = BoxDeveloperTokenAuth(token=os.environ["BOX_TRANSFER_TOKEN"])
    session = NetworkSession().with_custom_base_urls(
        BaseUrls(base_url=url, upload_url=url + "/api", oauth_2_url=url + "/api/oauth2")
    )
    return BoxClient(auth, network_session=session)


def download(kind: str, where: str, what: str) -> dict[str, Any]:
    sink = HashingSink()
    if kind == "boxfs":
        from box_widget.boxfs import BoxFileSystem

        fs = BoxFileSystem(where, progress=False)
        fs.info(what)  # resolve the path before the clock starts
        before, start = peak_rss(), time.perf_counter()
        fs.get_file(what, sink)
    else:
        client = sdk_client(where)
        before, start = peak_rss(), time.perf_counter()
        client.downloads.download_file_to_output_stream(what, sink)
    seconds = time.perf_counter() - start
    return {
        "bytes": sink.size,
        "seconds": seconds,
        "sha1": sink.sha1.hexdigest(),
        "peak_rss_before": before,
        "peak_rss": peak_rss(),
    }


def upload(kind: str, where: str, local: str, target: str) -> dict[str, Any]:
    size = os.path.getsize(local)
    if kind == "boxfs":
        from box_widget.boxfs import BoxFileSystem

        fs = BoxFileSystem(where, progress=False)
        before, start = peak_rss(), time.perf_counter()
        fs.put_file(local, target)
        seconds = time.perf_counter() - start
        sha1 = fs.info(target)["sha1"]  # asked after the clock stopped: one more round trip
    else:
        client = sdk_client(where)
        before, start = peak_rss(), time.perf_counter()
        with open(local, "rb") as source:
            file = client.chunked_uploads.upload_big_file(
                source, os.path.basename(local), size, target
            )
        seconds = time.perf_counter() - start
        sha1 = file.sha_1  # from the commit's answer
    return {
        "bytes": size,
        "seconds": seconds,
        "sha1": sha1,
        "peak_rss_before": before,
        "peak_rss": peak_rss(),
    }


def main(argv: list[str]) -> None:
    action, kind, *rest = argv
    result = download(kind, *rest) if action == "download" else upload(kind, *rest)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
