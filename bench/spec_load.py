"""Load every API description of a corpus, one after another, and print how long it took.

Usage: ``python bench/spec_load.py [DIRECTORY]`` (default: ``../shared/corpus/openapi``
beside the repository). Runs on one core. Goals: every document under 2 s, the whole
corpus under 60 s. Documents that raise ``SpecError`` are counted as rejected.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from assay.core.errors import SpecError
from assay.specs import load_spec

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openapi"


def _time_one(path: Path) -> tuple[float, str, int]:
    """Seconds to load ``path``, its outcome, and how many operations it has."""
    started = time.perf_counter()
    try:
        spec = load_spec(str(path))
    except SpecError:
        return time.perf_counter() - started, "rejected", 0
    elapsed = time.perf_counter() - started
    return elapsed, "warnings" if spec.warnings else "clean", len(spec.operations)


def main(argv: list[str]) -> int:
    """Run the benchmark over the directory in ``argv[1]`` (or the default corpus)."""
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT_CORPUS
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if not files:
        print(f"no documents in {folder}", file=sys.stderr)
        return 2
    timings: list[tuple[float, Path]] = []
    outcomes: Counter[str] = Counter()
    operations = 0
    started = time.perf_counter()
    for path in files:
        elapsed, outcome, count = _time_one(path)
        timings.append((elapsed, path))
        outcomes[outcome] += 1
        operations += count
    total = time.perf_counter() - started
    largest = max(files, key=lambda p: p.stat().st_size)
    print(f"{len(files)} documents, {operations} operations in {total:.2f} s: "
          f"{len(files) / total:.1f} documents/s")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print("slowest:")
    for elapsed, path in sorted(timings, key=lambda t: t[0], reverse=True)[:5]:
        print(f"  {elapsed:7.3f} s  {path.name} ({path.stat().st_size / 1e6:.2f} MB)")
    largest_time = next(elapsed for elapsed, path in timings if path == largest)
    print(f"largest: {largest.name} ({largest.stat().st_size / 1e6:.2f} MB) "
          f"in {largest_time:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
