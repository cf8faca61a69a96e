"""What recording costs a load worker: nanoseconds per ``Recorder.add``, flushes included.

Usage: ``python bench/load_recording.py [--adds N] [--keys K] [--batch B]`` (defaults: 2M
adds, 3 keys, batch 8192). The values are realistic: requests 10 µs apart (100k/s),
lognormal latencies around 2 ms with a tail, 1 % errors of two kinds, a few late starts.
They are built before the clock starts; the figure printed as "net" subtracts the cost of
the same loop calling a function that does nothing, so it is what recording adds to a
request. Also prints what a snapshot costs and weighs pickled (sent once a second).
"""

from __future__ import annotations

import argparse
import gc
import pickle
import time

import numpy as np

from assay.load.recorder import Recorder


def _values(adds: int, keys: int, seed: int = 1) -> tuple[list[int], ...]:
    """Columns of realistic ``add`` arguments (perf_counter_ns-like absolute times)."""
    rng = np.random.default_rng(seed)
    start = 5_000_000_000_000
    intended = start + np.arange(adds, dtype=np.int64) * 10_000
    delay = np.where(rng.random(adds) < 0.001, rng.integers(1_000_000, 50_000_000, adds),
                     rng.integers(1_000, 50_000, adds))
    sent = intended + delay
    service = rng.lognormal(np.log(2_000_000), 0.6, adds).astype(np.int64)
    done = sent + service
    key = rng.integers(0, keys, adds)
    error = np.where(rng.random(adds) < 0.01, rng.integers(1, 3, adds), 0)
    return tuple(column.tolist() for column in (key, intended, sent, done, error))


def _loop(add: object, columns: tuple[list[int], ...]) -> float:
    """Seconds taken to call ``add`` once per row of ``columns``."""
    keys, intended, sent, done, errors = columns
    call = add  # a local name, as the drivers use
    started = time.perf_counter()
    for row in zip(keys, intended, sent, done, errors, strict=True):
        call(*row)
    return time.perf_counter() - started


def _timed(function: object, argument: object) -> float:
    started = time.perf_counter()
    function(argument)  # type: ignore[operator]
    return time.perf_counter() - started


def _nothing(key: int, intended_ns: int, sent_ns: int, done_ns: int, error: int) -> None:
    """The baseline: a call that records nothing."""


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=2_000_000)
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8192)
    args = parser.parse_args()
    columns = _values(args.adds, args.keys)
    # The 10M prepared ints are no part of a worker's heap: keep the collector off them.
    gc.collect()
    gc.freeze()
    start_ns = columns[1][0]
    baseline = min(_loop(_nothing, columns) for _ in range(3))
    best = None
    for _ in range(3):
        recorder = Recorder([f"GET /k{i}" for i in range(args.keys)], start_ns=start_ns,
                            batch=args.batch)
        recorder.error_index("timeout")
        recorder.error_index("http 503")
        elapsed = _loop(recorder.add, columns)
        started = time.perf_counter()
        recorder.flush()  # the tail of the last batch belongs to the cost
        elapsed += time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    per_add = best * 1e9 / args.adds
    loop = baseline * 1e9 / args.adds
    print(f"{args.adds} adds, {args.keys} keys, batch {args.batch}")
    print(f"  loop with add:         {per_add:7.1f} ns per request")
    print(f"  loop with a no-op call:{loop:7.1f} ns per request")
    print(f"  net (recording):       {per_add - loop:7.1f} ns per request")
    started = time.perf_counter()
    report = recorder.snapshot()
    snapshot_ms = (time.perf_counter() - started) * 1000
    pickle_ms = min(_timed(pickle.dumps, report) for _ in range(3)) * 1000
    data = pickle.dumps(report)
    seconds = recorder.pop_seconds()
    print(f"  snapshot: {snapshot_ms:.2f} ms, pickled {len(data)} bytes in {pickle_ms:.2f} ms; "
          f"{len(seconds)} seconds in the timeline, "
          f"{len(pickle.dumps(seconds)) / max(len(seconds), 1):.0f} bytes each pickled")
    total = report.total()
    print(f"  check: {total.requests} requests, {total.errors} errors, {total.late} late, "
          f"p99 {total.latency.percentile(99) / 1000:.3f} ms")


if __name__ == "__main__":
    main()
