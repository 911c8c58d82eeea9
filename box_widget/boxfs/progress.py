"""Progress bars for long transfers (tqdm's notebook-aware bar), easy to turn off."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Set to 0 / false / no / off to turn every box-widget progress bar off.
ENV_VAR = "BOX_WIDGET_PROGRESS"
#: Transfers smaller than this never show a bar.
MIN_SIZE = 16 * 1024 * 1024


def wanted(progress: bool | None, size: int) -> bool:
    """Whether a transfer of ``size`` bytes shows a bar: ``progress`` if given, else on unless
    ``BOX_WIDGET_PROGRESS`` turns bars off; never for small transfers."""
    if size < MIN_SIZE:
        return False
    if progress is not None:
        return progress
    return os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "false", "no", "off"}


@contextmanager
def bar(progress: bool | None, size: int, description: str) -> Iterator[Callable[[int], None]]:
    """A function to call with each transferred byte count, drawing a bar when ``wanted``."""
    if not wanted(progress, size):
        yield lambda _n: None
        return
    from tqdm.auto import tqdm

    with tqdm(
        total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=description, leave=False
    ) as shown:
        yield shown.update
