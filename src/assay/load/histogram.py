"""A log-linear (HDR-style) histogram of latencies in integer microseconds.

Why a histogram and not a list of samples: a load run at 100k requests/s for ten minutes
is 60 million latencies; a histogram holds them in a few thousand counters, merges exactly
across workers (bucket by bucket) and pickles in a few kilobytes.

Layout, with ``p = precision_bits`` and ``h = 2**(p-1)``: values below ``2**p`` have a
bucket each (exact). Above, each power-of-two range ``[2**k, 2**(k+1))`` is cut into ``h``
equal buckets, so a bucket of values with ``s = bit_length(v) - p`` holds ``2**s``
neighbours and the index is ``s*h + (v >> s)``, one formula for both regions. The width
of a bucket is at most ``1/h`` of its lowest value: a reported value ``r`` for a true
value ``v`` satisfies ``v <= r <= v * (1 + 2**-(p-1))``. With the default ``p = 10`` that
is 0.2 %.

The counts array grows with the largest value seen (a run whose latencies stay under a
second uses ~6k of the 17k possible buckets at ``p = 10``), which keeps the per-second
histograms of a long timeline small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

# Values beyond 2**42 µs (about 51 days) share the last bucket; min, max and mean stay exact.
_LIMIT_BITS = 42
_LIMIT = (1 << _LIMIT_BITS) - 1
_MIN_BITS, _MAX_BITS = 1, 24


def bucket_count(precision_bits: int) -> int:
    """How many buckets a histogram of ``precision_bits`` can use at most."""
    return (_LIMIT_BITS + 2 - precision_bits) << (precision_bits - 1)


def _checked_bits(precision_bits: int) -> int:
    if not _MIN_BITS <= precision_bits <= _MAX_BITS:
        raise ValueError(f"precision_bits must be between {_MIN_BITS} and {_MAX_BITS}, "
                         f"got {precision_bits!r}")
    return precision_bits


def _indices(values: np.ndarray, bits: int) -> np.ndarray:
    """Bucket index of each value (int64 values, each within ``0.._LIMIT``).

    Above the exact region the index is ``s*h + (v >> s)``; ``v >> s`` is the implicit
    leading 1 and the top ``bits-1`` mantissa bits of ``float(v)`` (exact below 2**53),
    and ``s`` comes from its exponent, so one shift of the float's bits gives both.
    """
    shifted = values.astype(np.float64).view(np.int64) >> (53 - bits)
    shifted -= (1021 + bits) << (bits - 1)
    return np.where(values < (1 << bits), values, shifted)


def _index(value: int, bits: int) -> int:
    clamped = min(value, _LIMIT)
    shift = max(clamped.bit_length() - bits, 0)
    return (shift << (bits - 1)) + (clamped >> shift)


def _lowest(indices: np.ndarray, bits: int) -> np.ndarray:
    """The lowest value of each bucket."""
    shift = np.maximum((indices >> (bits - 1)) - 1, 0)
    return (indices - (shift << (bits - 1))) << shift


def _highest(indices: np.ndarray, bits: int) -> np.ndarray:
    """The highest value of each bucket ("equivalent" to every value in it)."""
    shift = np.maximum((indices >> (bits - 1)) - 1, 0)
    return ((indices - (shift << (bits - 1)) + 1) << shift) - 1


def _pack(values: np.ndarray) -> tuple[str, bytes]:
    """Non-negative integers as bytes of the narrowest little-endian type that holds them."""
    top = int(values.max()) if values.size else 0
    for dtype, bound in (("u1", 1 << 8), ("<u2", 1 << 16), ("<u4", 1 << 32)):
        if top < bound:
            return dtype, values.astype(dtype).tobytes()
    return "<i8", values.astype("<i8").tobytes()


def _rank(q: float, count: int) -> int:
    """The 1-based rank of the q-th percentile value (nearest rank, as HdrHistogram)."""
    exact = q * count / 100
    nearest = round(exact)
    # 99.9 % of 1000 is 999.0000000000001 in floats: that is rank 999, not 1000.
    rank = nearest if abs(exact - nearest) <= 1e-12 * max(exact, 1.0) else math.ceil(exact)
    return min(max(rank, 1), count)


class Histogram:
    """Counts of non-negative integer microseconds in log-linear buckets (see the module).

    Values below ``2**precision_bits`` are exact; above, the relative error of a reported
    value is at most ``2**-(precision_bits-1)``. Values beyond ``2**42`` µs clamp into the
    last bucket, negative ones count as 0. ``count``, ``min``, ``max`` and ``mean`` are
    exact.

    >>> h = Histogram()
    >>> h.record_array(np.array([100, 200, 300]))
    >>> h.percentile(50), h.max
    (200, 300)
    """

    __slots__ = ("_bits", "_counts", "_count", "_min", "_max", "_total")

    def __init__(self, precision_bits: int = 10):
        self._bits = _checked_bits(precision_bits)
        self._counts = np.zeros(0, dtype=np.int64)
        self._count = 0
        self._min = 0
        self._max = 0
        self._total = 0

    @property
    def precision_bits(self) -> int:
        """Exact below ``2**precision_bits``; relative error ``2**-(precision_bits-1)``."""
        return self._bits

    @property
    def count(self) -> int:
        """How many values were recorded."""
        return self._count

    @property
    def min(self) -> int | None:
        """The smallest value recorded (exact), ``None`` when empty."""
        return self._min if self._count else None

    @property
    def max(self) -> int | None:
        """The largest value recorded (exact, even beyond the clamp), ``None`` when empty."""
        return self._max if self._count else None

    @property
    def mean(self) -> float | None:
        """The exact mean of the values recorded, ``None`` when empty."""
        return self._total / self._count if self._count else None

    def record(self, value_us: int) -> None:
        """Count one value (use ``record_array`` for many)."""
        value = max(int(value_us), 0)
        index = _index(value, self._bits)
        self._grow(index + 1)
        self._counts[index] += 1
        self._note(1, value, value, value)

    def record_array(self, values_us: np.ndarray) -> None:
        """Count every value of an integer array (vectorized: no Python loop per value)."""
        values = np.asarray(values_us, dtype=np.int64)
        if values.size == 0:
            return
        low, high = int(values.min()), int(values.max())
        if low < 0:
            values = np.maximum(values, 0)
            low, high = 0, max(high, 0)
        total = int(values.sum())
        if high > _LIMIT:
            values = np.minimum(values, _LIMIT)
        indices = _indices(values, self._bits)
        self._grow(_index(high, self._bits) + 1)
        np.add.at(self._counts, indices, 1)
        self._note(values.size, low, high, total)

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this histogram (exact; same precision required)."""
        if not isinstance(other, Histogram):
            raise TypeError(f"can only merge a Histogram, got {type(other).__name__}")
        if other._bits != self._bits:
            raise ValueError(f"cannot merge histograms of different precision: "
                             f"{self._bits} and {other._bits} bits")
        if not other._count:
            return
        size = other._counts.size
        self._grow(size)
        self._counts[:size] += other._counts
        self._note(other._count, other._min, other._max, other._total)

    def percentile(self, q: float) -> int | None:
        """The value at percentile ``q`` (0..100), ``None`` when empty.

        HdrHistogram's convention: the highest value equivalent to the bucket holding the
        value of rank ``ceil(q/100 * count)``, kept within ``[min, max]`` (so the true value
        ``v`` of that rank satisfies ``v <= result <= v * (1 + 2**-(precision_bits-1))``).
        """
        return self.percentiles((q,))[0]

    def percentiles(self, qs: Iterable[float]) -> list[int | None]:
        """``percentile`` for several ``q`` at once (one pass over the buckets)."""
        qs = list(qs)
        for q in qs:
            if not 0 <= q <= 100:
                raise ValueError(f"a percentile must be between 0 and 100, got {q!r}")
        if not self._count:
            return [None] * len(qs)
        cumulative = np.cumsum(self._counts)
        ranks = np.array([_rank(q, self._count) for q in qs], dtype=np.int64)
        indices = np.searchsorted(cumulative, ranks)
        last = bucket_count(self._bits) - 1
        # The last bucket also holds the clamped values: its upper bound is the max.
        highest = _highest(indices, self._bits).tolist()
        uppers = [self._max if index == last else upper
                  for index, upper in zip(indices.tolist(), highest, strict=True)]
        return [min(max(upper, self._min), self._max) for upper in uppers]

    def buckets(self, *, include_empty: bool = False) -> list[tuple[int, int]]:
        """``(highest value µs, count)`` of each non-empty bucket, ascending; with
        ``include_empty``, also the empty buckets between the first and last non-empty one."""
        nonzero = np.flatnonzero(self._counts)
        if nonzero.size == 0:
            return []
        if include_empty:
            nonzero = np.arange(nonzero[0], nonzero[-1] + 1)
        uppers = _highest(nonzero, self._bits)
        return list(zip(uppers.tolist(), self._counts[nonzero].tolist(), strict=True))

    def coarsened(self, precision_bits: int) -> Histogram:
        """A copy at a lower precision, each bucket's count moved whole into the coarser
        bucket that contains it (buckets nest, so the counts stay exact)."""
        if precision_bits > self._bits:
            raise ValueError(f"cannot refine a {self._bits}-bit histogram to "
                             f"{precision_bits} bits")
        coarse = Histogram(precision_bits)
        coarse._note(self._count, self._min, self._max, self._total)
        nonzero = np.flatnonzero(self._counts)
        if nonzero.size:
            indices = _indices(_lowest(nonzero, self._bits), precision_bits)  # all <= _LIMIT
            coarse._grow(int(indices[-1]) + 1)
            np.add.at(coarse._counts, indices, self._counts[nonzero])
        return coarse

    def copy(self) -> Histogram:
        """An independent copy."""
        other = Histogram(self._bits)
        other._counts = self._counts.copy()
        other._note(self._count, self._min, self._max, self._total)
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self._bits == other._bits and self._count == other._count
                and self.min == other.min and self.max == other.max
                and self._total == other._total
                and np.array_equal(self._trimmed(), other._trimmed()))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"Histogram(precision_bits={self._bits}, count={self._count}, "
                f"min={self.min}, max={self.max})")

    def __getstate__(self) -> tuple[Any, ...]:
        # Only the non-empty buckets travel, as the gaps between their indices and their
        # counts, each in the narrowest integer type that holds it: snapshots cross
        # processes (and networks) every second.
        nonzero = np.flatnonzero(self._counts)
        gaps = np.diff(nonzero, prepend=0)  # mostly 1: one byte each
        return (self._bits, *_pack(gaps), *_pack(self._counts[nonzero]),
                self._count, self._min, self._max, self._total)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        bits, gap_type, gap_bytes, count_type, count_bytes, count, low, high, total = state
        self._bits = bits
        indices = np.cumsum(np.frombuffer(gap_bytes, dtype=gap_type), dtype=np.int64)
        self._counts = np.zeros(int(indices[-1]) + 1 if indices.size else 0, dtype=np.int64)
        self._counts[indices] = np.frombuffer(count_bytes, dtype=count_type)
        self._count, self._min, self._max, self._total = count, low, high, total

    def _trimmed(self) -> np.ndarray:
        nonzero = np.flatnonzero(self._counts)
        return self._counts[:nonzero[-1] + 1] if nonzero.size else self._counts[:0]

    def _grow(self, size: int) -> None:
        if size > self._counts.size:
            # Grow by whole powers of two of the value range, at least, to grow rarely.
            target = min(max(size, 2 * self._counts.size, 1 << self._bits),
                         bucket_count(self._bits))
            grown = np.zeros(target, dtype=np.int64)
            grown[:self._counts.size] = self._counts
            self._counts = grown

    def _note(self, count: int, low: int, high: int, total: int) -> None:
        if self._count:
            self._min = min(self._min, low)
            self._max = max(self._max, high)
        else:
            self._min, self._max = low, high
        self._count += count
        self._total += total


class HistogramSet:
    """``size`` histograms of one precision, recorded together.

    ``record_array(which, values)`` counts ``values[i]`` into histogram ``which[i]`` in a
    fixed number of vectorized passes whatever ``size`` is: a load worker keeps one
    histogram per endpoint, and a spec with forty operations must not cost forty times
    the numpy calls per batch. ``histogram(i)`` copies one out as a ``Histogram``.
    """

    __slots__ = ("_bits", "_counts", "_count", "_min", "_max", "_total")

    def __init__(self, size: int, precision_bits: int = 10):
        self._bits = _checked_bits(precision_bits)
        self._counts = np.zeros((size, 0), dtype=np.int64)
        self._count = np.zeros(size, dtype=np.int64)
        self._min = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        self._max = np.zeros(size, dtype=np.int64)
        self._total = np.zeros(size, dtype=np.int64)

    def __len__(self) -> int:
        return self._count.size

    def record_array(self, which: np.ndarray, values_us: np.ndarray) -> None:
        """Count ``values_us[i]`` into histogram ``which[i]`` (arrays of equal length)."""
        values = np.maximum(np.asarray(values_us, dtype=np.int64), 0)
        which = np.asarray(which, dtype=np.int64)
        if values.size == 0:
            return
        self._count += np.bincount(which, minlength=self._count.size)
        np.add.at(self._total, which, values)
        np.minimum.at(self._min, which, values)
        np.maximum.at(self._max, which, values)
        high = int(values.max())
        if high > _LIMIT:
            values = np.minimum(values, _LIMIT)
        self._grow(_index(high, self._bits) + 1)
        width = self._counts.shape[1]
        np.add.at(self._counts.reshape(-1), which * width + _indices(values, self._bits), 1)

    def histogram(self, index: int) -> Histogram:
        """An independent copy of histogram ``index``."""
        hist = Histogram(self._bits)
        count = int(self._count[index])
        if count:
            row = self._counts[index]
            hist._counts = row[:np.flatnonzero(row)[-1] + 1].copy()
            hist._note(count, int(self._min[index]), int(self._max[index]),
                       int(self._total[index]))
        return hist

    def _grow(self, width: int) -> None:
        size, current = self._counts.shape
        if width > current:
            target = min(max(width, 2 * current, 1 << self._bits), bucket_count(self._bits))
            grown = np.zeros((size, target), dtype=np.int64)
            grown[:, :current] = self._counts
            self._counts = grown
