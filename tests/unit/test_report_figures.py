"""The reports' medians come from histograms (the hours of each step per month): the same
figures as the median of the values written out."""

from __future__ import annotations

import statistics
from collections import Counter

from hypothesis import given, strategies as st

from readmodel.reports import weighted_median


@given(st.lists(st.integers(min_value=0, max_value=2_000), min_size=1, max_size=60))
def test_the_median_of_a_histogram_is_the_median_of_its_values(values: list[int]) -> None:
    histogram = list(Counter(values).items())
    assert weighted_median(histogram) == statistics.median(values)


def test_a_histogram_emptied_by_corrections_has_no_median() -> None:
    # A referral marked entered in error leaves its hours with a count of 0.
    assert weighted_median([(24, 0), (48, 0)]) is None
    assert weighted_median([(24, 0), (48, 1)]) == 48
