"""Students train as any pretrained encoder: distillation with the teacher's cached embeddings, and a
static student under the plain translation-ranking recipe."""

from __future__ import annotations

import json

import pytest
from sentence_transformers import SentenceTransformer
from teachers import TEXT, build_teacher

from interlingua.models.student import make_student
from interlingua.models.student_config import StudentConfig
from interlingua.training.config import build_config
from interlingua.training.trainer import train

TINY = {"langs": "deu", "max_pairs_per_language": 64, "batch_size": 16, "max_steps": 2, "log_every": 1}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return build_teacher(tmp_path_factory.mktemp("teacher"), layers=2)


def make(teacher, folder, **settings):
    text = folder.parent / f"{folder.name}.txt"
    text.write_text("\n".join(TEXT), encoding="utf-8")
    make_student(StudentConfig(teacher=str(teacher), text=str(text), output=str(folder), **settings))
    return str(folder)


@pytest.mark.parametrize("kind", [{"layers": 1}, {"static": True}])
def test_distillation_trains_a_student_and_caches_the_teacher(tmp_path, data_root, teacher, kind):
    student = make(teacher, tmp_path / "student", **kind)
    values = {**TINY, "data_root": str(data_root), "pretrained": student, "teacher": str(teacher)}
    values["teacher_cache"] = str(tmp_path / "cache")
    run, _ = train(build_config(recipe="distill", overrides={**values, "output": str(tmp_path / "run")}))
    assert run.steps == 2
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert {"distillation_source", "distillation_target", "translation_ranking"} <= set(log[0])
    assert len(list((tmp_path / "cache").glob("*/embeddings.npy"))) == 1
    trained = SentenceTransformer(str(tmp_path / "run"), device="cpu")
    assert type(trained[0]).__name__ == type(SentenceTransformer(student, device="cpu")[0]).__name__


def test_translation_ranking_trains_a_static_student(tmp_path, data_root, teacher):
    student = make(teacher, tmp_path / "static", static=True)
    before = SentenceTransformer(student, device="cpu")[0].embedding.weight.detach().clone()
    values = {**TINY, "data_root": str(data_root), "pretrained": student, "output": str(tmp_path / "run")}
    run, model = train(build_config(recipe="tr", overrides={**values, "learning_rate": 0.1}))
    assert run.steps == 2
    assert not model[0].embedding.weight.detach().equal(before)


def test_a_student_of_another_width_is_refused_before_the_teacher_encodes(tmp_path, data_root, teacher):
    from interlingua.errors import ConfigError

    values = {**TINY, "data_root": str(data_root), "teacher": str(teacher), "output": str(tmp_path / "run")}
    values.update(hidden=32, heads=2, ffn=32, layers=1, vocab_size=300, teacher_cache=str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="32 dimensions and the teacher's 16"):
        train(build_config(recipe="distill", overrides=values))
    assert not (tmp_path / "cache").exists()
