"""Students built from a teacher: the teacher's own vocabulary and layers, cut to what is needed.

A multilingual teacher carries most of its parameters in a vocabulary for a hundred languages
(multilingual-e5-small: 96M of 118M parameters are its 250k-piece embedding table) and most of
its time in depth.  A student for a few languages keeps

* **the pieces those languages use**: the teacher's tokenizer segments text of the languages
  (their training corpora, or a text file), and every piece seen, plus the special tokens, stays;
  the embedding rows and the tokenizer are cut together, in the teacher's order of ids;
* **N of its layers** (``first``: layers 0..N-1; ``even``: N layers evenly spaced from the first
  to the last).  Untrained, the first layers keep more of the teacher's behaviour (measured on
  me5-small, Tatoeba deu/fra/pol: first 4 layers 57.6, layers 0,4,8,11 33.4).

Pruning the vocabulary does not change how the kept text is segmented.  For Unigram
(SentencePiece, as in XLM-R and e5) the teacher's segmentation is the best-scoring path through
the pieces, and that path uses kept pieces only, so it stays the best path among them; for
WordPiece (BERT, LaBSE, mBERT) each greedy longest match is a kept piece, so it stays the longest.
A student with every layer therefore encodes the text it was pruned on exactly as the teacher
does.  Other text is segmented with the kept pieces (a word whose piece was dropped splits into
shorter kept pieces, or becomes ``<unk>`` where none fits); every single-character piece of the
teacher is kept so that this stays rare (``unseen_piece_rate`` measures it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer
from torch import nn
from tqdm.auto import tqdm

from interlingua.atomic import staged_folder
from interlingua.data.corpora import load_training_corpora
from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError
from interlingua.models.encoder import load_pretrained_encoder
from interlingua.models.static import write_static_student
from interlingua.models.student_config import StudentConfig, check_student_config, layer_indices

PRUNABLE_MODELS = ("Unigram", "WordPiece")  # the tokenizer.json model types pruning handles
STUDENT_FILE = "interlingua_student.json"


@dataclass
class StudentRecord:
    """How a student was made (saved beside it as ``interlingua_student.json``)."""

    teacher: str
    kind: str  # "transformer" or "static"
    pieces_kept: int
    teacher_pieces: int
    layers: list[int] | None
    lines_counted: int
    languages: list[str]


def backend_tokenizer(model: SentenceTransformer) -> Tokenizer:
    """The Rust ``tokenizers`` object behind a sentence-transformers model's first module."""
    tokenizer = model.tokenizer
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ConfigError("the teacher's tokenizer is not a fast (tokenizers-backed) tokenizer")
    return backend


def tokenizer_kind(tokenizer: Tokenizer, source: str) -> str:
    """The tokenizer's model type, checked to be one that pruning handles."""
    kind = json.loads(tokenizer.to_str())["model"]["type"]
    if kind not in PRUNABLE_MODELS:
        raise ConfigError(
            f"{source}: cannot prune a {kind} tokenizer; handled: {', '.join(PRUNABLE_MODELS)} "
            "(SentencePiece-Unigram as in XLM-R / e5, WordPiece as in BERT / LaBSE)"
        )
    return kind


def count_pieces(tokenizer: Tokenizer, texts: Iterable[str], batch_size: int = 4096) -> np.ndarray:
    """How often each piece id occurs when ``tokenizer`` segments ``texts`` (no special tokens)."""
    counts = np.zeros(tokenizer.get_vocab_size(with_added_tokens=True), dtype=np.int64)
    batch: list[str] = []

    def add(lines: list[str]) -> None:
        ids = [
            piece
            for encoding in tokenizer.encode_batch(lines, add_special_tokens=False)
            for piece in encoding.ids
        ]
        counts[:] += np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(counts))[: len(counts)]

    for text in tqdm(texts, desc="counting pieces", unit=" lines", mininterval=1.0):
        batch.append(text)
        if len(batch) == batch_size:
            add(batch)
            batch = []
    if batch:
        add(batch)
    return counts


def kept_piece_ids(tokenizer: Tokenizer, counts: np.ndarray) -> np.ndarray:
    """Ids to keep, ascending: every piece counted, every special token, and the one-character piece
    of every character that the counted pieces spell (so that a new word of the same languages can
    always be segmented, down to characters)."""
    pieces = {i: piece for piece, i in tokenizer.get_vocab(with_added_tokens=True).items()}
    special = {token.content for token in tokenizer.get_added_tokens_decoder().values()}
    alphabet = {char for i in np.flatnonzero(counts) for char in _letters(pieces[int(i)])}
    keep = counts > 0
    for i, piece in pieces.items():
        if piece in special or (len(_letters(piece)) == 1 and _letters(piece) in alphabet):
            keep[i] = True
    return np.flatnonzero(keep)


def _letters(piece: str) -> str:
    """A piece's characters without the word-boundary marks (SentencePiece's '▁', WordPiece's '##')."""
    return piece.removeprefix("##").replace("▁", "")


def _remap_post_processor(processor: dict | None, new_id: dict[int, int]) -> None:
    """Special-token ids inside a post-processor (TemplateProcessing, Roberta/Bert processing)."""
    if not processor:
        return
    for key in ("sep", "cls"):  # RobertaProcessing / BertProcessing: [token, id]
        if key in processor:
            processor[key][1] = new_id[processor[key][1]]
    for token in processor.get("special_tokens", {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    for inner in processor.get("processors", []):  # Sequence
        _remap_post_processor(inner, new_id)


def prune_tokenizer(tokenizer: Tokenizer, kept: np.ndarray) -> Tokenizer:
    """The tokenizer with only the ``kept`` ids, renumbered 0..len(kept)-1 in their old order."""
    spec = json.loads(tokenizer.to_str())
    new_id = {int(old): new for new, old in enumerate(kept)}
    model = spec["model"]
    if model["type"] == "Unigram":
        model["vocab"] = [model["vocab"][old] for old in kept if old < len(model["vocab"])]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    elif model["type"] == "WordPiece":
        model["vocab"] = {piece: new_id[i] for piece, i in model["vocab"].items() if i in new_id}
    else:
        raise ConfigError(f"cannot prune a {model['type']} tokenizer; handled: {', '.join(PRUNABLE_MODELS)}")
    spec["added_tokens"] = [{**token, "id": new_id[token["id"]]} for token in spec["added_tokens"]]
    _remap_post_processor(spec.get("post_processor"), new_id)
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_id[spec["padding"]["pad_id"]]
    return Tokenizer.from_str(json.dumps(spec))


def layer_list(encoder: nn.Module) -> nn.ModuleList:
    """The transformer layers of a BERT-family encoder (BERT, XLM-R, LaBSE, e5, MiniLM)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ConfigError(
            f"cannot select layers of a {type(encoder).__name__}: expected a BERT-family encoder "
            "(encoder.layer)"
        )
    return layers


def keep_layers(encoder: nn.Module, indices: Sequence[int]) -> None:
    """Cut ``encoder`` to the layers ``indices``, in place."""
    layers = layer_list(encoder)
    encoder.encoder.layer = nn.ModuleList([layers[i] for i in indices])
    encoder.config.num_hidden_layers = len(indices)
    for position, layer in enumerate(encoder.encoder.layer):  # attention caches index layers by position
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = position


def keep_pieces(encoder: nn.Module, kept: np.ndarray) -> None:
    """Cut the input embedding table to the rows ``kept``, in place (special ids in the config too)."""
    old = encoder.get_input_embeddings()
    new_id = {int(i): n for n, i in enumerate(kept)}
    config = encoder.config
    padding = new_id.get(config.pad_token_id) if config.pad_token_id is not None else None
    table = nn.Embedding(len(kept), old.embedding_dim, padding_idx=padding)
    table.weight.data.copy_(old.weight.data[torch.as_tensor(kept)])
    encoder.set_input_embeddings(table)
    config.vocab_size = len(kept)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
        if getattr(config, key, None) is not None:
            setattr(config, key, new_id.get(getattr(config, key)))


def save_record(folder: Path, record: StudentRecord) -> None:
    (folder / STUDENT_FILE).write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")


def write_transformer_student(
    teacher: SentenceTransformer,
    tokenizer: Tokenizer,
    kept: np.ndarray,
    layers: list[int] | None,
    output: Path,
) -> SentenceTransformer:
    """Cut ``teacher`` in place to ``kept`` pieces and ``layers``, save it to ``output``, reload it."""
    encoder = teacher[0].auto_model
    keep_pieces(encoder, kept)
    if layers is not None:
        keep_layers(encoder, layers)
    teacher.save(str(output))
    # The transformers tokenizer class rebuilds itself from tokenizer.json when loaded: writing the
    # pruned file over the saved one is what makes the folder's vocabulary the pruned one.
    prune_tokenizer(tokenizer, kept).save(str(output / "tokenizer.json"))
    student = SentenceTransformer(str(output), device="cpu")
    if len(student.tokenizer) != len(kept):
        raise RuntimeError(
            f"{output}: the saved tokenizer has {len(student.tokenizer)} pieces, not {len(kept)}"
        )
    return student


def unseen_piece_rate(student_tokenizer: Tokenizer, teacher_tokenizer: Tokenizer, texts: list[str]) -> float:
    """Share of ``texts`` that the student segments differently from the teacher (a piece was pruned)."""
    if not texts:
        return 0.0
    vocab = student_tokenizer.get_vocab(with_added_tokens=True)
    inverse = {i: piece for piece, i in teacher_tokenizer.get_vocab(with_added_tokens=True).items()}
    differ = 0
    teacher_encodings = teacher_tokenizer.encode_batch(texts, add_special_tokens=False)
    for encoding in teacher_encodings:
        differ += any(inverse[i] not in vocab for i in encoding.ids)
    return differ / len(texts)


def counting_texts(config: StudentConfig) -> tuple[list[str], list[str]]:
    """The lines whose pieces the student keeps, and their languages."""
    if config.text:
        lines = [line.rstrip("\n") for line in read_lines(config.text)]
        return [line for line in lines if line.strip()], list(config.langs)
    corpora = load_training_corpora(config.data_root, config.langs, corpora=config.corpora)
    by_language: dict[str, list[str]] = {}
    for corpus in corpora:
        by_language.setdefault(corpus.src_lang, []).extend(corpus.src)
        by_language.setdefault(corpus.tgt_lang, []).extend(corpus.tgt)
    cap = config.max_lines_per_language
    texts = [line for lines in by_language.values() for line in list(dict.fromkeys(lines))[:cap]]
    return texts, sorted(by_language)


@dataclass
class PieceCounts:
    """How often each of the teacher's pieces occurs in the text a student is made for."""

    counts: np.ndarray
    lines: int
    languages: list[str]


def student_texts(config: StudentConfig) -> tuple[list[str], list[str]]:
    """``counting_texts``, refusing languages with nothing to count on."""
    texts, languages = counting_texts(config)
    if not texts:
        raise ConfigError(f"no text to count pieces on for {', '.join(config.langs) or config.text}")
    return texts, languages


def pieces_of(tokenizer: Tokenizer, texts: list[str], languages: list[str]) -> PieceCounts:
    return PieceCounts(count_pieces(tokenizer, texts), len(texts), languages)


def count_student_pieces(config: StudentConfig, tokenizer: Tokenizer) -> PieceCounts:
    return pieces_of(tokenizer, *student_texts(config))


def make_student(config: StudentConfig, counted: PieceCounts | None = None) -> StudentRecord:
    """Write the student that ``config`` describes and return how it was made (``counted``: the
    pieces of its text, when several students of one teacher and text are made)."""
    check_student_config(config)
    texts = None if counted else student_texts(config)  # no text: refused before the teacher loads
    teacher = load_pretrained_encoder(config.teacher)
    tokenizer = backend_tokenizer(teacher)
    tokenizer_kind(tokenizer, config.teacher)
    total = len(layer_list(teacher[0].auto_model))
    layers = layer_indices(total, config.layers, config.layer_choice) if config.layers else None
    if counted is None:
        counted = pieces_of(tokenizer, *texts)
    kept = kept_piece_ids(tokenizer, counted.counts)
    with staged_folder(Path(config.output)) as staging:
        if config.static:
            student_tokenizer = prune_tokenizer(tokenizer, kept)
            write_static_student(
                teacher,
                tokenizer,
                student_tokenizer,
                kept,
                counted.counts,
                staging,
                dims=config.dims,
                sif=config.sif,
            )
        else:
            write_transformer_student(teacher, tokenizer, kept, layers, staging)
        record = StudentRecord(
            teacher=config.teacher,
            kind="static" if config.static else "transformer",
            pieces_kept=len(kept),
            teacher_pieces=tokenizer.get_vocab_size(with_added_tokens=True),
            layers=None if config.static else (layers or list(range(total))),
            lines_counted=counted.lines,
            languages=counted.languages,
        )
        save_record(staging, record)
    return record
