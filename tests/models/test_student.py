"""Students made from a teacher: pruned vocabulary, selected layers, and the mistakes caught first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from teachers import PRUNE_TEXT, TEXT, build_teacher
from tokenizers import Tokenizer, models

from interlingua.errors import ConfigError
from interlingua.models.student import (
    STUDENT_FILE,
    backend_tokenizer,
    count_pieces,
    kept_piece_ids,
    make_student,
    prune_tokenizer,
    tokenizer_kind,
    unseen_piece_rate,
)
from interlingua.models.student_config import StudentConfig, layer_indices


@pytest.fixture(scope="module", params=["unigram", "wordpiece"])
def teacher(request, tmp_path_factory):
    return build_teacher(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture
def prune_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("\n".join(PRUNE_TEXT) + "\n", encoding="utf-8")
    return path


def student(teacher, prune_file, output, **settings):
    config = StudentConfig(teacher=str(teacher), text=str(prune_file), output=str(output), **settings)
    return make_student(config), SentenceTransformer(str(output), device="cpu")


def test_full_depth_pruned_student_encodes_its_text_as_the_teacher(teacher, prune_file, tmp_path):
    record, pruned = student(teacher, prune_file, tmp_path / "student")
    reference = SentenceTransformer(str(teacher), device="cpu")
    assert record.pieces_kept < record.teacher_pieces
    assert pruned[0].auto_model.get_input_embeddings().num_embeddings == record.pieces_kept
    np.testing.assert_allclose(pruned.encode(PRUNE_TEXT), reference.encode(PRUNE_TEXT), atol=1e-5)
    saved = json.loads((tmp_path / "student" / STUDENT_FILE).read_text())
    assert saved["pieces_kept"] == record.pieces_kept and saved["layers"] == [0, 1, 2, 3]


def test_other_text_is_segmented_with_the_kept_pieces(teacher, prune_file, tmp_path):
    _, pruned = student(teacher, prune_file, tmp_path / "student")
    tokenizer = backend_tokenizer(pruned)
    kept, unknown = tokenizer.get_vocab(), tokenizer.token_to_id(pruned.tokenizer.unk_token)
    alphabet = set("".join(PRUNE_TEXT))
    other = TEXT[6:]
    for encoding in tokenizer.encode_batch(other, add_special_tokens=False):
        for piece, piece_id in zip(encoding.tokens, encoding.ids, strict=True):
            # a kept piece, or a character the pruned text never spelt, which is unknown
            assert kept.get(piece) == piece_id or (piece_id == unknown and not set(piece) <= alphabet)
    teacher_tokenizer = backend_tokenizer(SentenceTransformer(str(teacher), device="cpu"))
    assert 0 < unseen_piece_rate(tokenizer, teacher_tokenizer, other) <= 1
    assert unseen_piece_rate(tokenizer, teacher_tokenizer, PRUNE_TEXT) == 0


@pytest.mark.parametrize(("choice", "expected"), [("first", [0, 1]), ("even", [0, 3])])
def test_layer_selection_keeps_the_chosen_layers(teacher, prune_file, tmp_path, choice, expected):
    reference = SentenceTransformer(str(teacher), device="cpu")[0].auto_model
    record, small = student(teacher, prune_file, tmp_path / "student", layers=2, layer_choice=choice)
    assert record.layers == expected
    layers = small[0].auto_model.encoder.layer
    assert len(layers) == 2 and small[0].auto_model.config.num_hidden_layers == 2
    for kept, index in zip(layers, expected, strict=True):
        assert torch.equal(kept.output.dense.weight, reference.encoder.layer[index].output.dense.weight)


def test_layer_indices():
    assert layer_indices(12, 4, "first") == [0, 1, 2, 3]
    assert layer_indices(12, 4, "even") == [0, 4, 7, 11]
    assert layer_indices(12, 1, "even") == [0]
    with pytest.raises(ConfigError, match="the teacher has 12 layers"):
        layer_indices(12, 13)


def test_kept_pieces_are_the_counted_ones_plus_specials_and_their_letters():
    tokenizer = Tokenizer(
        models.WordPiece({"[UNK]": 0, "ab": 1, "a": 2, "b": 3, "##b": 4, "z": 5, "zz": 6}, unk_token="[UNK]")
    )
    tokenizer.add_special_tokens(["[UNK]"])
    counts = np.array([0, 3, 0, 0, 0, 0, 0])
    assert kept_piece_ids(tokenizer, counts).tolist() == [0, 1, 2, 3, 4]  # not z: "ab" does not spell it


def test_pruned_tokenizer_renumbers_in_the_teachers_order(teacher):
    tokenizer = backend_tokenizer(SentenceTransformer(str(teacher), device="cpu"))
    counts = count_pieces(tokenizer, PRUNE_TEXT)
    kept = kept_piece_ids(tokenizer, counts)
    pruned = prune_tokenizer(tokenizer, kept)
    assert pruned.get_vocab_size(with_added_tokens=True) == len(kept)
    for sentence in PRUNE_TEXT:
        old, new = tokenizer.encode(sentence), pruned.encode(sentence)
        assert old.tokens == new.tokens
        assert [int(kept[i]) for i in new.ids] == old.ids


def test_mistakes_are_found_before_any_work(teacher, prune_file, tmp_path):
    def fails(match, **settings):
        values = {"teacher": str(teacher), "text": str(prune_file), "output": str(tmp_path / "s"), **settings}
        with pytest.raises(ConfigError, match=match):
            make_student(StudentConfig(**values))
        assert not (tmp_path / "s").exists()

    fails("the teacher has 4 layers", layers=5)
    fails("exclude each other", static=True, layers=2)
    fails("no such folder", teacher=str(tmp_path / "missing"))
    fails("no such file", text=str(tmp_path / "missing.txt"))
    fails("no languages", text=None)
    no_tokenizer = tmp_path / "bare"
    no_tokenizer.mkdir()
    (no_tokenizer / "config.json").write_text("{}")
    fails("no tokenizer.json", teacher=str(no_tokenizer))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    fails("not an empty folder", output=str(tmp_path / "full"))


def test_tokenizers_pruning_cannot_handle_are_named():
    bpe = Tokenizer(models.BPE())
    with pytest.raises(ConfigError, match="cannot prune a BPE tokenizer; handled: Unigram, WordPiece"):
        tokenizer_kind(bpe, "teacher")


def test_a_language_without_text_is_refused_before_the_teacher_loads(
    teacher, tmp_path, monkeypatch, data_root
):
    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher was loaded")

    monkeypatch.setattr("interlingua.models.student.load_pretrained_encoder", no_teacher)
    config = StudentConfig(teacher=str(teacher), langs=["xho"], corpora=["wmt"], data_root=str(data_root))
    config.output = str(tmp_path / "s")
    with pytest.raises(ConfigError, match="no training data for xho"):
        make_student(config)
