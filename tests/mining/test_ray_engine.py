"""``--engine ray``: the same bytes as the single-process run, resume after a killed driver, a
retried worker, and the one-line errors (Ray missing, an unreachable cluster)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from interlingua.cli.main import main
from interlingua.mining.pipeline import MiningConfig, run_mining
from interlingua.mining.store import RangeProgress

from .synthetic import small_block_memory

needs_ray = pytest.mark.skipif(find_spec("ray") is None, reason="ray is not installed (interlingua[ray])")
N_SRC, N_TGT, DIM = 300, 250, 32
WORDS = ["ein", "kleines", "haus", "a", "small", "house", "das", "ist", "gut", "that", "is", "good", "dog"]
MEMORY = small_block_memory(N_SRC, N_TGT, DIM)
# Created by the worker that kills itself (a test parameter, so it cannot live under tmp_path).
DEATH_MARKER = Path(f"/tmp/interlingua-ray-test-{os.getpid()}-died")


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two random texts, random embeddings of their lines, and a tiny encoder model of their words."""
    from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
    from interlingua.models.tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("ray")
    rng = np.random.default_rng(0)
    paths = {"model": folder / "model"}
    for side, rows in (("src", N_SRC), ("tgt", N_TGT)):
        lines = [" ".join(rng.choice(WORDS, size=rng.integers(2, 9))) for _ in range(rows)]
        paths[side] = folder / f"{side}.txt"
        paths[side].write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths[f"{side}_npy"] = folder / f"{side}.npy"
        np.save(paths[f"{side}_npy"], rng.standard_normal((rows, DIM)).astype(np.float32))
    tokenizer = train_tokenizer(WORDS * 20, vocab_size=120)
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=DIM, heads=2, ffn=64))
    model.save(str(paths["model"]))
    return paths


@pytest.fixture
def local_ray(request):
    """A local Ray of 2 CPUs for one test; ``request.param`` may add a worker setup hook."""
    import ray

    runtime_env = {"worker_process_setup_hook": request.param} if hasattr(request, "param") else None
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        runtime_env=runtime_env,
    )
    yield ray
    ray.shutdown()


def config(texts: dict[str, Path], output: Path, **overrides) -> MiningConfig:
    settings = {"src": texts["src"], "tgt": texts["tgt"], "output": output, "model": str(texts["model"])}
    return MiningConfig(**{**settings, "batch_size": 16, "max_memory": MEMORY, **overrides})


@pytest.fixture(scope="module")
def reference(texts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    output = tmp_path_factory.mktemp("reference") / "pairs.tsv"
    return output, run_mining(config(texts, output))


@needs_ray
def test_ray_engine_gives_the_single_process_bytes(texts, reference, local_ray, tmp_path: Path) -> None:
    expected, local = reference
    summary = run_mining(config(texts, tmp_path / "pairs.tsv", engine="ray"))
    assert (tmp_path / "pairs.tsv").read_bytes() == expected.read_bytes()
    assert summary["counts"] == local["counts"] and summary["counts"]["written"] > 100
    engine = summary["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2
    assert engine["rows_computed"] == {"embed": N_SRC + N_TGT, "knn": N_SRC + N_TGT}
    assert engine["worker_peak_rss_bytes"] > 0
    # Several shards and blocks, so that both workers had some.
    assert summary["plan"]["embed_rows"] < N_TGT and summary["plan"]["query_rows"] < N_TGT
    assert not list((tmp_path / "pairs.tsv.work").rglob("*.part.*"))


def _die_once(marker: str):
    """A worker setup hook: the first shard embedded by any worker kills its process."""

    def hook() -> None:
        from interlingua.mining import embed

        original = embed.embed_shard

        def embed_shard(*args, **kwargs):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return original(*args, **kwargs)
            os.kill(os.getpid(), 9)

        embed.embed_shard = embed_shard

    return hook


@needs_ray
@pytest.mark.parametrize("local_ray", [_die_once(str(DEATH_MARKER))], indirect=True)
def test_a_dying_worker_is_retried_and_its_shard_stored_once(texts, reference, local_ray, tmp_path) -> None:
    marker = DEATH_MARKER
    marker.unlink(missing_ok=True)
    try:
        summary = run_mining(config(texts, tmp_path / "pairs.tsv", engine="ray"))
        assert marker.exists()  # a worker was killed in the middle of a shard ...
    finally:
        marker.unlink(missing_ok=True)
    # ... and its shard redone by the restarted actor, once: the same bytes as without the kill.
    assert (tmp_path / "pairs.tsv").read_bytes() == reference[0].read_bytes()
    assert summary["engine"]["rows_computed"]["embed"] == N_SRC + N_TGT


_KILLING_DRIVER = """
import os, signal, sys
from interlingua.mining import store
from interlingua.cli.main import main

stored = store.RangeProgress.mark
marks = []

def mark(self, start, stop):
    stored(self, start, stop)
    marks.append(start)
    if len(marks) == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)

store.RangeProgress.mark = mark
sys.exit(main(sys.argv[2:]))
"""


def _wait_until_gone(tag: str, timeout: float = 60) -> None:
    """Wait until no worker of the killed run is left: a process with ``tag`` in its environment
    (every process a run starts inherits it).  Ray's node agents, which write nothing of ours and
    stop about a minute after their node, are not waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [pid for pid in Path("/proc").iterdir() if _is_worker(pid, tag.encode())]:
            return
        time.sleep(0.2)
    raise AssertionError(f"workers of the killed run are still alive after {timeout} s")


def _is_worker(process: Path, tag: bytes) -> bool:
    try:
        return (
            tag in (process / "environ").read_bytes() and b"Agent" not in (process / "cmdline").read_bytes()
        )
    except OSError:  # not a process, gone meanwhile, or not ours to read
        return False


def _rows_kept(work: Path, stage: str, names: tuple[str, ...]) -> int:
    """Rows a killed run left done: marked in the progress records, or in finished part files
    (the part of the last rows marked may still be there: the kill came before its deletion)."""
    kept = {name: set() for name in names}
    for name in names:
        for start, stop in RangeProgress(work / stage / f"{name}.progress.json", 0).done:
            kept[name].update(range(start, stop))
    for part in (work / stage).glob("[a-z]*.part.np[yz]"):  # not the temporary files of unfinished ones
        name, rows = part.name.split(".")[:2]
        start, stop = rows.split("-")
        kept[name].update(range(int(start), int(stop)))
    return sum(len(rows) for rows in kept.values())


@needs_ray
@pytest.mark.parametrize(
    ("inputs", "stage", "names", "kill_at_mark", "settings"),
    [
        # Precomputed vectors fill one shard per side, so the 4th unit stored is the 2nd of 9 k-NN
        # blocks (of about 73 queries), with at most 4 more in flight (2 per worker).
        pytest.param(
            "embeddings",
            "knn",
            ("forward", "backward"),
            4,
            ["--index", "IVF4,Flat", "--max-memory", str(MEMORY + 208 * 1024)],
            id="knn",
        ),
        pytest.param(
            "model",
            "embed",
            ("src", "tgt"),
            2,
            ["--max-memory", str(MEMORY)],
            id="embed",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_driver_killed_resumes_without_redoing_finished_work(
    texts, inputs: str, stage: str, names: tuple[str, str], kill_at_mark: int, settings: list, tmp_path: Path
) -> None:
    arguments = _mine_args(texts, tmp_path, "--batch-size", "16", *settings, inputs=inputs)
    assert main([*arguments[:-1], str(tmp_path / "reference.tsv")]) == 0  # single process
    output = Path(arguments[-1])
    script = tmp_path / "driver.py"
    script.write_text(_KILLING_DRIVER, encoding="utf-8")
    tag = f"INTERLINGUA_TEST_RUN={tmp_path}"
    killed = subprocess.run(
        [sys.executable, str(script), str(kill_at_mark), *arguments, "--engine", "ray"],
        capture_output=True,
        timeout=300,
        env={**os.environ, "INTERLINGUA_TEST_RUN": str(tmp_path)},
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    # The killed driver's Ray goes down with it; its workers may finish a unit meanwhile.
    _wait_until_gone(tag)
    kept = _rows_kept(tmp_path / "pairs.tsv.work", stage, names)
    assert 0 < kept < N_SRC + N_TGT and not output.exists()

    assert main([*arguments, "--engine", "ray"]) == 0
    summary = json.loads((tmp_path / "pairs.tsv.json").read_text())
    assert summary["stages"][stage]["status"] == "resumed"
    assert summary["engine"]["rows_computed"][stage] == N_SRC + N_TGT - kept
    assert output.read_bytes() == (tmp_path / "reference.tsv").read_bytes()


@needs_ray
def test_two_nodes(texts, reference, tmp_path: Path) -> None:
    """Two raylets (a head and a worker node): nothing in the engine assumes a single node."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.ERROR)
        summary = run_mining(config(texts, tmp_path / "pairs.tsv", engine="ray"))
        assert len([node for node in ray.nodes() if node["Alive"]]) == 2
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert summary["engine"]["workers"] == 2
    assert (tmp_path / "pairs.tsv").read_bytes() == reference[0].read_bytes()


def _mine_args(texts: dict[str, Path], tmp_path: Path, *extra: str, inputs: str = "model") -> list[str]:
    """A mine command line, its --output last; ``inputs``: the model, or precomputed embeddings."""
    if inputs == "model":
        encoding = ["--model", str(texts["model"])]
    else:
        encoding = ["--src-embeddings", str(texts["src_npy"]), "--tgt-embeddings", str(texts["tgt_npy"])]
    sides = ["--src", str(texts["src"]), "--tgt", str(texts["tgt"])]
    return ["mine", *sides, *encoding, "--quiet", *extra, "--output", str(tmp_path / "pairs.tsv")]


def test_ray_missing_is_one_line_naming_the_extra(texts, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert main(_mine_args(texts, tmp_path, "--engine", "ray")) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pip install 'interlingua[ray]'" in error


@needs_ray
def test_unreachable_address_fails_in_seconds_naming_it(texts, tmp_path, capsys) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
    with socket.socket() as silent:  # accepts connections and never answers, like a wrong service
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        for target in (address, f"127.0.0.1:{silent.getsockname()[1]}"):
            began = time.monotonic()
            assert main(_mine_args(texts, tmp_path, "--engine", "ray", "--ray-address", target)) == 2
            assert time.monotonic() - began < 15
            error = capsys.readouterr().err.strip().splitlines()[-1]
            assert error.startswith("interlingua mine: error: --ray-address") and target in error


def test_ray_address_without_the_ray_engine_is_refused(texts, tmp_path, capsys) -> None:
    assert main(_mine_args(texts, tmp_path, "--ray-address", "auto")) == 2
    assert "--engine ray" in capsys.readouterr().err


@needs_ray
def test_encode_on_ray_gives_the_staged_single_process_bytes(texts, local_ray, tmp_path: Path) -> None:
    from interlingua.mining.encoding import encode_staged

    lines = texts["src"].read_text(encoding="utf-8").splitlines()
    texts_with_blank = tmp_path / "input.txt"
    texts_with_blank.write_text("\n".join([lines[0], "", *lines[1:]]) + "\n", encoding="utf-8")
    arguments = ["encode", "--model", str(texts["model"]), "--input", str(texts_with_blank)]
    on_ray = ["--output", str(tmp_path / "ray.npy"), "--engine", "ray", "--max-memory", str(MEMORY)]
    assert main([*arguments, *on_ray]) == 0
    encode_staged(
        str(texts["model"]), texts_with_blank, tmp_path / "local.npy", engine="local", max_memory=MEMORY
    )
    assert main([*arguments, "--output", str(tmp_path / "plain.npy")]) == 0
    on_ray, local, plain = (np.load(tmp_path / f"{name}.npy") for name in ("ray", "local", "plain"))
    assert on_ray.shape == (N_SRC + 1, DIM) and not on_ray[1].any()
    assert on_ray.tobytes() == local.tobytes()
    # Plain encode returns the encoder's vectors; the stages normalise them once more (last bit).
    np.testing.assert_allclose(on_ray, plain, rtol=0, atol=1e-6)


@needs_ray
def test_bad_input_found_by_a_worker_is_one_line(texts, tmp_path: Path, capsys) -> None:
    vectors = np.load(texts["src_npy"])
    vectors[7, 3] = np.nan
    np.save(tmp_path / "src.npy", vectors)
    arguments = _mine_args(
        {**texts, "src_npy": tmp_path / "src.npy"}, tmp_path, "--engine", "ray", inputs="npy"
    )
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error == f"interlingua mine: error: {tmp_path / 'src.npy'}:8: embedding contains NaN or infinity\n"
