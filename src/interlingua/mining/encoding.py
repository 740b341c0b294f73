"""``interlingua encode --engine ray``: one file encoded by the first two stages of the mining run.

The text is copied into a ``text`` stage and encoded shard by shard into an ``embed`` stage, in the
work folder (default ``OUTPUT.work``) and with the engines of ``pipeline``: a Ray worker loads the
encoder once and encodes the shards it is given, an interrupted run resumes without encoding
finished shards again, and ``--max-memory`` bounds the shards.  The output is the same ``.npy`` as
the single-process ``encode``: float32, one row per input line, blank lines as zero vectors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from interlingua.atomic import atomic_file
from interlingua.errors import DataError
from interlingua.mining.pipeline import MiningConfig, embedding_source, fill_embeddings, open_engine
from interlingua.mining.plan import make_plan
from interlingua.mining.store import MatrixFile, StageFolder, TextStore, file_identity

# Rows copied from the stage's matrix to the output at a time.
COPY_ROWS = 65536


def encode_staged(
    model: str,
    input_path: Path,
    output: Path,
    *,
    prefix: str = "",
    batch_size: int = 128,
    max_memory: int = 2 * 1024**3,
    work_dir: Path | None = None,
    engine: str = "ray",
    ray_address: str | None = None,
    show_progress: bool = False,
) -> tuple[int, int]:
    """Encode every line of ``input_path`` with ``model`` into the ``.npy`` file ``output``, shard
    by shard with ``engine``, resumably; return the output's shape (lines, dimension)."""
    config = MiningConfig(
        src=input_path,
        tgt=input_path,
        output=output,
        model=model,
        prefix=prefix,
        batch_size=batch_size,
        max_memory=max_memory,
        work_dir=work_dir,
        show_progress=show_progress,
        engine=engine,
        ray_address=ray_address,
    )
    config.validate()
    config.work_folder.mkdir(parents=True, exist_ok=True)
    texts, text_print = _copy_text(config)
    lines = texts.rows()
    if not len(lines):
        raise DataError(config.src, "no non-blank line: nothing to encode")
    matrix = _embed(config, texts, lines, text_print)
    return _write_rows(matrix, lines, texts.line_count, config.output)


def _copy_text(config: MiningConfig) -> tuple[TextStore, dict]:
    """The ``text`` stage of the input (reused when the file is unchanged) and its fingerprint."""
    stage = StageFolder(config.work_folder, "text", {"src": file_identity(config.src)})
    if not stage.complete:
        stage.reset()
        TextStore.build(config.src, stage.path, "src", id_column=False, unify=False)
        stage.finish()
    return TextStore(stage.path, "src", id_column=False), stage.fingerprint


def _embed(config: MiningConfig, texts: TextStore, lines: np.ndarray, text_print: dict) -> MatrixFile:
    """The ``embed`` stage of the lines to encode, filled (or resumed) by the engine."""
    source = embedding_source(config)
    stage = StageFolder(
        config.work_folder, "embed", {"text": text_print, "storage": config.storage, "source": source}
    )
    with open_engine(config) as engine:
        encoder = None if stage.started else engine.load_encoder(config)
        dim = encoder.dimension if encoder else MatrixFile(stage.path / "src.npy").shape[1]
        plan = make_plan(
            src_rows=len(lines), tgt_rows=0, dim=dim, k=1, max_memory=config.max_memory, encoding=True
        )
        if not stage.complete:
            fill_embeddings(config, stage, (("src", lines, texts, None),), plan, encoder, dim, engine)
    return MatrixFile(stage.path / "src.npy")


def _write_rows(matrix: MatrixFile, lines: np.ndarray, line_count: int, output: Path) -> tuple[int, int]:
    """The stage's rows at their input lines, zero vectors on blank lines, written atomically."""
    shape = (line_count, matrix.shape[1])
    with atomic_file(output) as temporary:
        out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.float32, shape=shape)
        for start in range(0, len(lines), COPY_ROWS):
            stop = min(start + COPY_ROWS, len(lines))
            out[lines[start:stop]] = matrix.read(start, stop)
        out.flush()
        del out
    return shape
