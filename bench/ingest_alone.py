"""The alert ingest alone: batch sizes and times at a steady rate, with no server and no clients beside it.

`python -m bench.ingest_alone [RATE] [SECONDS]` (default 2,000 msg/s for 5 s) on the live bench's database
(bench/live.py: 50 schools, 200 devices). The worker runs in this process, as `twin live ingest` does
(startup heap frozen); the publisher runs in a process of its own. Prints what each batch took, so the
ingest's own ceiling can be told from the machine's when the full live bench falls behind.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

import twin.live.ingest as ingest
from bench.live import mqtt_client, prepare, stored, warm_up
from twin.config import Settings
from twin.heap import freeze_startup_heap
from twin.live.events import event_json

console = Console()


def _publish(url: str, topics: list[str], rate: int, seconds: float) -> None:
    client = mqtt_client(url, inflight=1000)
    client.loop_start()
    start, total = time.monotonic(), int(rate * seconds)
    for i in range(total):
        payload = event_json(f"alone-{uuid.uuid4().hex}", "water_pressure", "minor", datetime.now(UTC))
        client.publish(topics[i % len(topics)], payload, qos=1)
        if (ahead := start + (i + 1) / rate - time.monotonic()) > 0:
            time.sleep(ahead)
    time.sleep(1.0)
    client.loop_stop()


def run(rate: int, seconds: float) -> dict[str, Any]:
    settings, _clients, devices = prepare()
    settings = settings.model_copy(
        update={"live": settings.live.model_copy(update={"share_group": f"alone{uuid.uuid4().hex[:6]}"})}
    )
    batches: list[tuple[int, float]] = []
    take = ingest.handle_batch

    def timed(*args: Any) -> list[str]:
        started = time.perf_counter()
        outcomes = take(*args)
        batches.append((len(args[1]), time.perf_counter() - started))
        return outcomes

    ingest.handle_batch = timed  # type: ignore[assignment]
    worker = ingest.IngestWorker(settings)
    worker.start()
    worker.subscribed.wait(10)
    freeze_startup_heap()
    warm_up(settings, devices)  # every device raises its alert first: the measured events are repeats
    batches.clear()
    topics = [f"campus/{d.split('-')[1]}/sensors/{d}/events" for d in sorted(devices)]
    before, total = stored(settings), int(rate * seconds)
    began = time.monotonic()
    publisher = mp.get_context("spawn").Process(
        target=_publish, args=(settings.broker.effective_url(), topics, rate, seconds)
    )
    publisher.start()
    first = None  # the publisher's process takes a while to start: time from the first event stored
    while (n := stored(settings) - before) < total and time.monotonic() - began < seconds + 60:
        if first is None and n > 0:
            first = time.monotonic()
        time.sleep(0.02)
    took = time.monotonic() - (first or began)
    publisher.join()
    worker.stop()
    times = sorted(t for _n, t in batches)
    return {
        "rate": rate,
        "stored/s": round(total / took),
        "batches": len(batches),
        "events per batch (median)": statistics.median(n for n, _t in batches),
        "batch ms p50": round(times[len(times) // 2] * 1000, 1),
        "batch ms p99": round(times[int(len(times) * 0.99)] * 1000, 1),
        "batch ms max": round(times[-1] * 1000, 1),
    }


def main() -> None:
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    with console.status(f"ingest alone at {rate} msg/s for {seconds:.0f} s…"):
        result = run(rate, seconds)
    console.print(result)


if __name__ == "__main__":
    Settings()  # fail early on a bad environment
    main()
