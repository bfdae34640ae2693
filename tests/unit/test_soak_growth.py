"""`make soak`'s memory verdict (bench/soak.py `growth`): RSS compared as windows of
samples at each end, so the allocator's minute-by-minute trim swing is not read as growth,
while growth that is there still shows."""

from __future__ import annotations

from bench.soak import growth


def _samples(values: list[float]) -> list[dict]:
    return [{"minute": i * 0.5, "rss_mb": {"1 python": mb}} for i, mb in enumerate(values)]


def test_a_trim_swing_caught_low_at_the_start_and_high_at_the_end_is_not_growth():
    swing = [150.0, 153.0, 152.0, 153.0] * 4  # flat around 152, trimmed to 150 every 2 min
    swing[-1] = 155.0  # the last sample caught before a trim
    found = growth(_samples(swing), warmup_min=0)["1 python"]
    assert found["growth_single_samples"] > 0.03
    assert abs(found["growth"]) < 0.02


def test_steady_growth_still_shows_through_the_windows():
    rising = [150.0 + i for i in range(20)]  # 1 MB every 30 s
    found = growth(_samples(rising), warmup_min=0)["1 python"]
    assert found["growth"] > 0.08
    assert found["end_mb"] > found["after_warmup_mb"]
