"""Static students: one vector per piece, a sentence is the mean of its pieces' vectors.

Built from a teacher as model2vec does (Tulkens & van Dongen 2024, github.com/MinishLab/model2vec):

1. each kept piece p is embedded by the teacher as a one-piece sentence, ``[bos] p [eos]``,
   mean-pooled over the three output states: v_p;
2. the vectors are centred (the direction every teacher embedding shares carries no meaning and
   would dominate a mean of a few pieces) and, with ``dims``, reduced by PCA;
3. each vector is weighted by SIF, w_p = a / (a + f_p), with f_p the piece's relative frequency
   in the text the vocabulary was counted on (model2vec estimates f_p from the piece's rank with
   Zipf's law; the counts are at hand here, so they are used), a = ``sif`` (1e-4).

The result is a sentence-transformers ``StaticEmbedding`` (an ``EmbeddingBag`` over the pruned
tokenizer, so it stays trainable) followed by ``Normalize``.  model2vec itself is not a dependency:
its distillation extra pins ``transformers<5.4``, older than the stack here, and the steps above
are the part of it that applies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from interlingua.errors import ConfigError


def special_frame(tokenizer: Tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a sentence (``<s>`` / ``</s>``, ``[CLS]`` / ``[SEP]``)."""
    bare = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a", add_special_tokens=True).ids
    start = next(i for i in range(len(full)) if full[i : i + len(bare)] == bare)
    return full[:start], full[start + len(bare) :]


@torch.inference_mode()
def piece_vectors(
    teacher: SentenceTransformer, tokenizer: Tokenizer, piece_ids: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    """(len(piece_ids), d): each piece as the teacher embeds it alone, mean of its output states."""
    before, after = special_frame(tokenizer)
    encoder = teacher[0].auto_model.eval()
    rows = []
    for begin in tqdm(range(0, len(piece_ids), batch_size), desc="embedding pieces", unit=" batches"):
        ids = torch.as_tensor(piece_ids[begin : begin + batch_size], dtype=torch.long)[:, None]
        frame = (
            [torch.full((len(ids), 1), i) for i in before]
            + [ids]
            + [torch.full((len(ids), 1), i) for i in after]
        )
        input_ids = torch.cat(frame, dim=1)
        states = encoder(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
        rows.append(states.mean(dim=1).float().numpy())
    return np.concatenate(rows)


def pca(vectors: np.ndarray, dims: int) -> np.ndarray:
    """``vectors`` (already centred) projected on their ``dims`` leading principal axes."""
    if not 1 <= dims <= vectors.shape[1]:
        raise ConfigError(f"--dims {dims}: choose 1 to the teacher's width, {vectors.shape[1]}")
    _, _, axes = np.linalg.svd(vectors, full_matrices=False)
    return vectors @ axes[:dims].T


def sif_weights(counts: np.ndarray, sif: float) -> np.ndarray:
    """w = a / (a + f): frequent pieces ("the", ".") count less in a sentence's mean."""
    total = max(int(counts.sum()), 1)
    return sif / (sif + counts / total)


def static_vectors(vectors: np.ndarray, counts: np.ndarray, dims: int | None, sif: float) -> np.ndarray:
    """Centre, optionally reduce, and SIF-weight the piece vectors (see the module docstring)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if dims is not None:
        centred = pca(centred, dims)
    return (centred * sif_weights(counts, sif)[:, None]).astype(np.float32)


def write_static_student(
    teacher: SentenceTransformer,
    teacher_tokenizer: Tokenizer,
    student_tokenizer: Tokenizer,
    kept: np.ndarray,
    counts: np.ndarray,
    output: Path,
    *,
    dims: int | None = None,
    sif: float = 1e-4,
) -> SentenceTransformer:
    """A ``StaticEmbedding`` student over ``student_tokenizer`` (the teacher's, pruned to ``kept``)."""
    vectors = static_vectors(piece_vectors(teacher, teacher_tokenizer, kept), counts[kept], dims, sif)
    embedding = StaticEmbedding(student_tokenizer, embedding_weights=vectors)
    student = SentenceTransformer(modules=[embedding, Normalize()], device="cpu")
    student.save(str(output))
    return student
