"""Warm-up and decay follow the run's real length, for every shipped recipe (issue 13)."""

import pytest

from interlingua.training.config import available_recipes, build_config
from interlingua.training.schedule import STEP_WARMUP_CAP, multiplier_function, progress_function


class StepClock:
    """A clock that advances ``seconds_per_step`` per optimiser step (set before each lookup)."""

    def __init__(self) -> None:
        self.now = 0.0

    def elapsed(self) -> float:
        return self.now


def budget_run(warmup: float, schedule: str, steps: int, budget: float) -> list[float]:
    """The multiplier at every step of a run that spends ``budget`` seconds in ``steps`` steps."""
    clock = StepClock()
    multiplier = multiplier_function(warmup, schedule, progress_function(None, budget, clock), None, budget)
    values = []
    for step in range(steps + 1):
        clock.now = budget * step / steps
        values.append(multiplier(step))
    return values


def assert_peaks_then_decays_to_the_end(values: list[float], schedule: str) -> None:
    peak = values.index(max(values))
    assert max(values) == pytest.approx(1.0, abs=0.01)  # the peak falls between two steps
    assert peak <= STEP_WARMUP_CAP * (len(values) - 1) + 1  # warm-up ends within the cap
    after = values[peak:]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(after, after[1:], strict=False))
    middle = values[len(values) // 2]
    if schedule == "constant":
        assert middle == 1.0
    else:
        assert 0.3 < middle < 0.7 and values[-1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("recipe", available_recipes())
def test_every_recipe_with_a_budget_reaches_its_peak_and_decays_to_the_end(recipe):
    # 20 minutes, 1,250 steps: the ablation's EMS run (its recipe warms up for 10,000 steps).
    config = build_config(recipe=recipe, overrides={"budget": "20m"})
    values = budget_run(config.warmup, config.schedule, 1250, config.budget_seconds())
    assert_peaks_then_decays_to_the_end(values, config.schedule)


def test_a_step_warmup_shorter_than_the_cap_is_kept_in_a_long_budget_run():
    values = budget_run(100, "linear", 10_000, 3600.0)
    assert values[49] == pytest.approx(0.5)  # step 49: (49 + 1) / 100 of the peak
    assert values[99] == 1.0 and values[400] == 1.0  # then held until the cap (5% = step 500)
    assert values[5000] == pytest.approx((1 - 0.5) / (1 - STEP_WARMUP_CAP))


def test_a_step_warmup_longer_than_a_step_bounded_run_is_clamped():
    progress = progress_function(1000, None, StepClock())
    multiplier = multiplier_function(2000, "linear", progress, 1000, None)
    values = [multiplier(step) for step in range(1001)]
    assert values[25] == pytest.approx(0.5) and values[50] == 1.0  # peak at 5% of 1,000, not at 2,000
    assert values[1000] == 0.0
    assert_peaks_then_decays_to_the_end(values, "linear")
    short = multiplier_function(20, "linear", progress, 1000, None)  # 2% of the run: kept
    assert short(9) == pytest.approx(0.5) and short(19) == pytest.approx(1.0)
