"""The latency histogram of `assay load`: exact counts, bounded error, exact merges, compact
pickles."""

from __future__ import annotations

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.load.histogram import Histogram, HistogramSet, bucket_count

QUANTILES = ("0", "1", "25", "50", "90", "95", "99", "99.9", "99.99", "100")
LIMIT = 2**42 - 1


def _exact(sorted_values: np.ndarray, q: str) -> int:
    """The value of nearest rank ceil(q/100 * n), with q read as an exact decimal."""
    n = len(sorted_values)
    rank = min(max(math.ceil(Fraction(q) * n / 100), 1), n)
    return int(sorted_values[rank - 1])


def _assert_within(result: int | None, true: int, bits: int) -> None:
    assert result is not None
    assert true <= result <= true * (1 + 2.0 ** -(bits - 1)), (result, true)


def _samples(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.lognormal(np.log(3000), 1.2, size).astype(np.int64)


@pytest.mark.parametrize("bits", [6, 10])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_the_stated_error_of_numpy(bits: int, seed: int) -> None:
    values = _samples(seed, 10_007)  # prime: q/100*n is never an integer
    hist = Histogram(bits)
    hist.record_array(values)
    for q in QUANTILES:
        true = int(np.percentile(values, float(q), method="inverted_cdf"))
        _assert_within(hist.percentile(float(q)), true, bits)
    assert hist.count == values.size
    assert (hist.min, hist.max) == (int(values.min()), int(values.max()))
    assert hist.mean == pytest.approx(float(values.mean()), rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=LIMIT), min_size=1, max_size=300),
       bits=st.sampled_from([1, 3, 6, 10]))
def test_any_values_any_precision(values: list[int], bits: int) -> None:
    hist = Histogram(bits)
    hist.record_array(np.array(values, dtype=np.int64))
    ordered = np.sort(np.array(values, dtype=np.int64))
    results = hist.percentiles(float(q) for q in QUANTILES)
    for q, result in zip(QUANTILES, results, strict=True):
        _assert_within(result, _exact(ordered, q), bits)
    assert sum(count for _, count in hist.buckets()) == len(values)
    assert hist.percentile(100) == max(values)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=2**45), max_size=50))
def test_record_one_by_one_equals_record_array(values: list[int]) -> None:
    one_by_one, at_once = Histogram(), Histogram()
    for value in values:
        one_by_one.record(value)
    at_once.record_array(np.array(values, dtype=np.int64))
    assert one_by_one == at_once


def test_values_below_two_to_the_precision_are_exact() -> None:
    hist = Histogram(10)
    values = np.arange(1024)
    hist.record_array(values)
    assert hist.buckets() == [(v, 1) for v in range(1024)]
    for q in (0.1, 50, 77.7, 100):
        assert hist.percentile(q) == _exact(values, str(q))


def test_merging_three_equals_one_histogram_of_all() -> None:
    parts = [_samples(seed, size) for seed, size in ((4, 5000), (5, 1), (6, 20_000))]
    merged = Histogram()
    for part in parts:
        hist = Histogram()
        hist.record_array(part)
        merged.merge(hist)
    whole = Histogram()
    whole.record_array(np.concatenate(parts))
    assert merged == whole
    assert merged.buckets() == whole.buckets()
    assert merged.percentiles([50, 99]) == whole.percentiles([50, 99])
    assert merged.mean == whole.mean


def test_merge_needs_the_same_precision() -> None:
    with pytest.raises(ValueError, match="different precision: 10 and 6 bits"):
        Histogram(10).merge(Histogram(6))


def test_merging_an_empty_histogram_changes_nothing() -> None:
    hist = Histogram()
    hist.record_array(np.array([5, 7]))
    before = hist.copy()
    hist.merge(Histogram())
    assert hist == before
    empty = Histogram()
    empty.merge(before)
    assert empty == before


def test_empty_histogram() -> None:
    hist = Histogram()
    hist.record_array(np.array([], dtype=np.int64))
    assert (hist.count, hist.min, hist.max, hist.mean) == (0, None, None, None)
    assert hist.percentile(50) is None
    assert hist.buckets() == []
    assert pickle.loads(pickle.dumps(hist)) == hist
    assert hist == Histogram()


def test_single_value_and_zero() -> None:
    hist = Histogram()
    hist.record(123_456)
    assert hist.percentiles([0, 50, 100]) == [123_456, 123_456, 123_456]
    assert (hist.min, hist.max, hist.mean) == (123_456, 123_456, 123_456.0)
    zero = Histogram()
    zero.record(0)
    assert zero.buckets() == [(0, 1)] and zero.percentile(99) == 0


def test_negative_values_count_as_zero() -> None:
    hist = Histogram()
    hist.record_array(np.array([-5, 3]))
    hist.record(-1)
    assert hist.buckets() == [(0, 2), (3, 1)]
    assert hist.min == 0


def test_huge_values_clamp_into_the_last_bucket_but_max_stays_exact() -> None:
    hist = Histogram(10)
    hist.record_array(np.array([10, 2**50]))
    hist.record(2**60)
    assert hist.max == 2**60 and hist.count == 3
    assert hist.percentile(100) == 2**60
    # Beyond the clamp a bucket knows nothing but the max, which it reports (not 2**42).
    assert hist.percentile(50) == 2**60
    buckets = hist.buckets()
    assert buckets[-1][1] == 2
    assert len(hist.buckets(include_empty=True)) == bucket_count(10) - 10
    assert pickle.loads(pickle.dumps(hist)) == hist


def test_percentile_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="between 0 and 100, got 101"):
        Histogram().percentile(101)
    with pytest.raises(ValueError, match="precision_bits must be between 1 and 24, got 0"):
        Histogram(0)


def test_the_nearest_rank_is_not_fooled_by_float_rounding() -> None:
    hist = Histogram()
    hist.record_array(np.arange(1, 1001))
    # 99.9 % of 1000 is 999.0000000000001 in floats: rank 999, not 1000.
    assert hist.percentile(99.9) == 999


def test_pickling_round_trips_and_stores_only_non_empty_buckets() -> None:
    hist = Histogram()
    hist.record_array(_samples(7, 200_000))
    data = pickle.dumps(hist)
    back = pickle.loads(data)
    assert back == hist
    assert back.percentiles([50, 99.9]) == hist.percentiles([50, 99.9])
    assert back.mean == hist.mean
    non_empty = len(hist.buckets())
    assert len(data) < 3 * non_empty + 300  # 1-byte gaps between buckets, 2-byte counts
    sparse = Histogram()
    sparse.record_array(np.array([1, 10**6, 10**9] * 1000))
    assert len(pickle.dumps(sparse)) < 250


def test_pickle_widens_counts_that_need_it() -> None:
    hist = Histogram()
    hist.record_array(np.zeros(70_000, dtype=np.int64))  # a count beyond 2**16
    assert pickle.loads(pickle.dumps(hist)).buckets() == [(0, 70_000)]


def test_copy_is_independent() -> None:
    hist = Histogram()
    hist.record(10)
    copy = hist.copy()
    hist.record(20)
    assert copy.count == 1 and copy.max == 10 and copy != hist


def test_coarsening_keeps_every_count_in_a_bucket_that_holds_its_values() -> None:
    values = _samples(8, 5000)
    fine = Histogram(10)
    fine.record_array(values)
    coarse = fine.coarsened(5)
    direct = Histogram(5)
    direct.record_array(values)
    assert coarse == direct
    assert coarse.precision_bits == 5 and coarse.max == fine.max
    with pytest.raises(ValueError, match="cannot refine"):
        coarse.coarsened(6)


def test_a_histogram_set_equals_separate_histograms() -> None:
    rng = np.random.default_rng(9)
    values = _samples(9, 6000)
    which = rng.integers(0, 4, values.size)
    which[which == 2] = 1  # histogram 2 stays empty
    group = HistogramSet(4, 10)
    group.record_array(which[:3000], values[:3000])
    group.record_array(which[3000:], values[3000:])
    assert len(group) == 4
    for index in range(4):
        separate = Histogram(10)
        separate.record_array(values[which == index])
        assert group.histogram(index) == separate
    assert group.histogram(2).count == 0
