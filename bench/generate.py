"""Time the generation of valid values for a fixed sample of the corpus's schemas.

Usage::

    python bench/generate.py [--corpus DIR] [--schemas 400] [--values 100]

The sample is deterministic: request-body and parameter schemas of every operation of
every document in the corpus (default ``../shared/corpus/openapi`` beside the repository),
half bodies and half parameters, evenly spaced in document order. Each schema's values are
drawn in one ``@given`` run, as the fuzz phase draws them, and the run's time is divided by
the number of values it produced. Prints how many schemas and values, the median and p95
time per value in milliseconds, the share of schemas that raised ``CannotGenerate``, and
how many values failed validation (it must be 0). Goal: median under 1 ms per value.
Runs on one core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException

from assay.core.errors import SpecError
from assay.generation.minimal import CannotGenerate
from assay.generation.strategies import StrategyFactory
from assay.specs import load_spec
from assay.specs.validators import schema_validator

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openapi"


def sample_schemas(folder: Path, count: int) -> list[tuple[str, str, Any, Any]]:
    """``(label, location, schema, spec)`` for ``count`` schemas spread over the corpus:
    half request bodies, half parameters (location ``body`` or the parameter's)."""
    bodies: list[tuple[str, str, Any, Any]] = []
    parameters: list[tuple[str, str, Any, Any]] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            spec = load_spec(str(path))
        except SpecError:
            continue
        for op in spec.operations:
            label = f"{path.name} {op.label}"
            for param in op.parameters:
                parameters.append((f"{label} {param.location} {param.name}", param.location,
                                   param.schema, spec))
            if op.request_body is not None:
                for media in op.request_body.content.values():
                    if media.schema is not None:
                        bodies.append((f"{label} body {media.media_type}", "body",
                                       media.schema, spec))
    half = count // 2
    return _spread(bodies, half) + _spread(parameters, count - half)


def _spread(items: list, count: int) -> list:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def draw_values(strategy: Any, count: int) -> tuple[list[Any], float]:
    """Up to ``count`` values drawn in one hypothesis run, and the run's duration."""
    values: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(strategy)
    def collect(value: Any) -> None:
        values.append(value)

    started = time.perf_counter()
    collect()
    return values, time.perf_counter() - started


def main(argv: list[str]) -> int:
    """Run the benchmark; returns the exit code (1 when a value failed validation)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--schemas", type=int, default=400)
    parser.add_argument("--values", type=int, default=100)
    parser.add_argument("--verbose", action="store_true", help="list slow and failing schemas")
    args = parser.parse_args(argv[1:])
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    sample = sample_schemas(args.corpus, args.schemas)
    factories: dict[int, StrategyFactory] = {}
    per_value: list[float] = []
    refused: list[tuple[str, str]] = []
    invalid: list[str] = []
    errors: list[tuple[str, str]] = []
    total = 0
    for label, location, schema, spec in sample:
        factory = factories.setdefault(id(spec), StrategyFactory(spec.registry))
        try:
            strategy = (factory.from_schema(schema) if location == "body"
                        else factory.parameter(schema, location))
        except CannotGenerate as exc:
            refused.append((label, str(exc)))
            continue
        try:
            values, seconds = draw_values(strategy, args.values)
        except HypothesisException as exc:
            errors.append((label, type(exc).__name__))
            continue
        validator = schema_validator(schema, spec.registry, direction="request")
        invalid.extend(label for value in values if not validator.is_valid(value))
        total += len(values)
        per_value.append(seconds * 1000 / max(1, len(values)))
        if args.verbose and per_value[-1] > 3:
            print(f"slow {per_value[-1]:.1f} ms/value: {label}")
    _report(sample, total, per_value, refused, invalid, errors, args.verbose)
    return 1 if invalid else 0


def _report(sample: list, total: int, per_value: list[float], refused: list,
            invalid: list, errors: list, verbose: bool) -> None:
    ordered = sorted(per_value)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0
    print(f"schemas:             {len(sample)}")
    print(f"values generated:    {total}")
    print(f"median ms per value: {statistics.median(ordered) if ordered else 0:.3f}")
    print(f"p95 ms per value:    {p95:.3f}")
    print(f"CannotGenerate:      {len(refused)} ({100 * len(refused) / max(1, len(sample)):.1f}%)")
    print(f"hypothesis errors:   {len(errors)}")
    print(f"invalid values:      {len(invalid)}")
    if verbose:
        for label, reason in refused:
            print(f"refused: {label}: {reason}")
        for label, kind in errors:
            print(f"error: {label}: {kind}")
        for label in sorted(set(invalid)):
            print(f"invalid: {label}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
