"""The garbage collector and long-running workers: keep full collections off the startup heap."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move what starting made (modules, the app, engines, settings) out of the collector's view.

    Those objects live as long as the process, yet every full (generation 2) collection walked them all:
    in the ingest under 2,000 messages a second that paused every thread for 50-110 ms about once a second,
    the p99 of the live latency. After the freeze a full collection walks only what was made since.
    Collected first, so no garbage is frozen.
    """
    gc.collect()
    gc.freeze()
