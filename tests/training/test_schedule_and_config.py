import time

import pytest

from interlingua.errors import ConfigError
from interlingua.training.config import build_config, parse_duration
from interlingua.training.schedule import RunClock, lr_multiplier, progress_function


def test_parse_duration():
    assert parse_duration("20m") == 1200
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90
    assert parse_duration("45") == 45
    with pytest.raises(ConfigError, match="cannot read duration"):
        parse_duration("twenty minutes")


def test_lr_multiplier_shapes():
    assert lr_multiplier(0.05, 0.1, "linear") == pytest.approx(0.5)
    assert lr_multiplier(0.55, 0.1, "linear") == pytest.approx(0.5)
    assert lr_multiplier(1.0, 0.1, "linear") == 0.0
    assert lr_multiplier(0.55, 0.1, "cosine") == pytest.approx(0.5)
    assert lr_multiplier(0.9, 0.1, "constant") == 1.0


def test_progress_takes_whichever_end_comes_first():
    clock = RunClock(elapsed_before=30.0)  # not started: elapsed stays 30 s
    progress = progress_function(100, 60.0, clock)
    assert progress(10) == pytest.approx(0.5)  # time: 30 of 60 s
    assert progress(80) == pytest.approx(0.8)  # steps: 80 of 100
    assert progress(500) == 1.0


def test_cpu_clock_counts_work_not_waiting():
    wall, cpu = RunClock(kind="wall"), RunClock(kind="cpu")
    wall.start()
    cpu.start()
    time.sleep(0.3)  # waiting: wall time passes, CPU time does not
    assert wall.elapsed() >= 0.3
    assert cpu.elapsed() < 0.1
    busy_until = time.process_time() + 0.2
    while time.process_time() < busy_until:
        pass
    assert cpu.elapsed() >= 0.2
    with pytest.raises(ValueError, match="unknown clock 'gpu'"):
        RunClock(kind="gpu")


def test_config_layers_and_errors(tmp_path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("recipe: tr\nbatch_size: 64\nlangs: deu,fra\n")
    config = build_config(config_file=config_file, overrides={"batch_size": 32, "max_steps": 5})
    assert (config.recipe, config.batch_size, config.langs, config.max_steps) == ("tr", 32, ["deu", "fra"], 5)
    assert config.scale == 20.0  # from the recipe
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        build_config(overrides={"batch_sise": 3})
    (tmp_path / "bad.yaml").write_text("learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown key 'learning_rat'"):
        build_config(config_file=tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="unknown recipe"):
        build_config(recipe="no-such-recipe")


def test_unknown_budget_clock_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="budget_clock must be one of wall, cpu, not 'gpu'"):
        build_config(overrides={"budget_clock": "gpu", "max_steps": 1, "output": str(tmp_path / "run")})
    assert not (tmp_path / "run").exists()
