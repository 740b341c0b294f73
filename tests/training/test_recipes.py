"""The shipped recipes: valid configs with the papers' values, and each trains end to end."""

import json

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from interlingua.errors import ConfigError
from interlingua.losses.ems import EMSLoss
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder, load_pretrained_encoder
from interlingua.models.tokenizer import train_tokenizer
from interlingua.training.config import available_recipes, build_config
from interlingua.training.objectives import OBJECTIVES, Objective, build_objective, training_languages
from interlingua.training.trainer import HEADS_FILE, InterlinguaTrainer, train

TINY = {
    "langs": "deu",
    "max_pairs_per_language": 120,
    "layers": 2,
    "hidden": 16,
    "heads": 2,
    "ffn": 32,
    "vocab_size": 300,
    "batch_size": 8,
    "max_length": 32,
    "checkpoint_every": 2,
    "log_every": 1,
    "max_steps": 2,
    "warmup": 0.05,
}
TEXTS = ["das ist ein haus.", "this is a house.", "die katze schläft.", "the cat sleeps."] * 10


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """A tiny randomly initialised BERT saved as a model folder: the test stand-in for me5-small."""
    folder = tmp_path_factory.mktemp("backbone")
    tokenizer = train_tokenizer(TEXTS, vocab_size=200, languages=["deu"])
    torch.manual_seed(0)
    build_scratch_encoder(tokenizer, EncoderConfig(layers=2, hidden=16, heads=2, ffn=32)).save(str(folder))
    return str(folder)


def tiny_config(tmp_path, data_root, recipe, backbone, **overrides):
    values = {**TINY, "data_root": str(data_root), "output": str(tmp_path / recipe)}
    if recipe in ("dap", "mlctl"):
        values["pretrained"] = backbone
    if recipe == "distill":
        values["teacher"] = backbone  # as wide as the tiny student (16)
        values["teacher_cache"] = str(tmp_path / "teacher-cache")
    return build_config(recipe=recipe, overrides={**values, **overrides})


def test_recipes_carry_the_papers_values_and_scale_knobs_override():
    assert set(available_recipes()) >= {"lightweight", "ems", "dap", "mlctl", "distill", "tr"}
    lightweight = build_config(recipe="lightweight")
    assert (lightweight.objective, lightweight.align_weight, lightweight.sim_weight) == (
        "lightweight",
        2.0,
        2.0,
    )
    assert (lightweight.learning_rate, lightweight.amsgrad, lightweight.warmup, lightweight.batch_size) == (
        1e-3,
        True,
        2000,
        128,
    )
    ems = build_config(recipe="ems")
    assert (ems.layers, ems.hidden, ems.scale, ems.contrastive_weight, ems.learning_rate) == (
        6,
        1024,
        10.0,
        2.0,
        3e-4,
    )
    assert (ems.schedule, ems.sampling_temperature, ems.batch_size) == ("cosine", 5.0, 152)
    dap = build_config(recipe="dap")
    assert (dap.objective, dap.scale, dap.rtl_weight, dap.rtl_layers, dap.learning_rate) == (
        "dap",
        20.0,
        0.1,
        2,
        5e-5,
    )
    mlctl = build_config(recipe="mlctl")
    assert mlctl.scale == pytest.approx(1 / 0.07) and (mlctl.mlm_weight, mlctl.learning_rate) == (0.1, 2e-6)
    assert build_config(recipe="distill").objective == "distillation"
    for recipe in available_recipes():
        config = build_config(
            recipe=recipe, overrides={"layers": 3, "hidden": 96, "batch_size": 7, "budget": "4m"}
        )
        assert (config.layers, config.hidden, config.batch_size, config.budget) == (3, 96, 7, "4m")
        assert config.objective in OBJECTIVES


def test_the_interlingua_recipe_is_tr_plus_the_word_term_at_0_1():
    # The named recipe of the round-2 ablation: the `tr` recipe with only the token term added.
    named, tr = build_config(recipe="interlingua"), build_config(recipe="tr")
    differing = {key for key in vars(named) if getattr(named, key) != getattr(tr, key)}
    assert differing == {"recipe", "objective", "token_term"}
    assert (named.objective, named.token_term, named.token_weight) == ("tr_plus", "word", 0.1)


def test_training_languages_put_the_pivot_first():
    config = build_config(overrides={"langs": "fra,deu", "pivot": "eng"})
    assert training_languages(config) == ["eng", "deu", "fra"]


HEADS = {
    "lightweight": {"predictor"},
    "ems": {"predictor", "projection"},
    "dap": {"ranking_head", "rtl"},
    "mlctl": {"head", "mlm_head"},
    "distill": set(),
}
COMPONENTS = {
    "lightweight": {"ugt", "align", "sim"},
    "ems": {"xtr", "contrastive"},
    "dap": {"translation_ranking", "rtl"},
    "mlctl": {"sentence_contrastive", "word_contrastive", "mlm"},
    "distill": {"distillation_source", "distillation_target", "translation_ranking"},
}


def check_run(run, recipe: str) -> None:
    """Components logged and finite, training heads in the checkpoint, none in the export."""
    log = [json.loads(line) for line in (run.output / "train_log.jsonl").read_text().splitlines()]
    assert COMPONENTS[recipe] <= set(log[0])
    assert all(torch.isfinite(torch.tensor(log[0][key])) for key in COMPONENTS[recipe])
    heads_file = run.output / "checkpoints" / "checkpoint-2" / HEADS_FILE
    if HEADS[recipe]:
        assert {key.split(".")[0] for key in load_file(str(heads_file))} == HEADS[recipe]
    else:
        assert not heads_file.exists()
    exported = SentenceTransformer(str(run.output), device="cpu")
    assert all(key.startswith("0.model.") for key in exported.state_dict())  # the encoder only


@pytest.mark.parametrize("recipe", ["distill", "ems", "lightweight", "mlctl"])  # dap: the test below
def test_recipe_trains_end_to_end(tmp_path, data_root, tiny_backbone, recipe):
    run, _ = train(tiny_config(tmp_path, data_root, recipe, tiny_backbone))
    assert run.steps == 2
    check_run(run, recipe)


def test_heads_are_optimised_checkpointed_and_restored(tmp_path, data_root, tiny_backbone, monkeypatch):
    """DAP end to end: its heads (ranking layer, RTL layers, vocabulary head) change, are saved, restored."""
    initial: dict[str, torch.Tensor] = {}
    build = OBJECTIVES["dap"].build

    def recording(model, config):
        loss = build(model, config)
        initial.update({k: v.detach().clone() for k, v in loss.head_state().items()})
        return loss

    monkeypatch.setitem(OBJECTIVES, "dap", Objective(recording))
    run, _ = train(tiny_config(tmp_path, data_root, "dap", tiny_backbone))
    check_run(run, "dap")
    saved = load_file(str(tmp_path / "dap" / "checkpoints" / "checkpoint-2" / HEADS_FILE))
    assert set(saved) == set(initial)
    for name in (
        "ranking_head.dense.weight",
        "rtl.layers.0.attention.self.query.weight",
        "rtl.vocabulary.dense.weight",
    ):
        assert not torch.equal(saved[name], initial[name]), f"{name} was not optimised"

    restored = {}
    original = InterlinguaTrainer._load_from_checkpoint

    def spy(self, checkpoint_path, *args, **kwargs):
        original(self, checkpoint_path, *args, **kwargs)
        restored.update({k: v.detach().clone() for k, v in self.loss.head_state().items()})

    monkeypatch.setattr(InterlinguaTrainer, "_load_from_checkpoint", spy)
    run, _ = train(tiny_config(tmp_path, data_root, "dap", tiny_backbone, max_steps=3, resume=True))
    assert run.steps == 3
    assert set(restored) == set(saved) and all(torch.equal(restored[k], saved[k]) for k in saved)


def test_a_language_label_column_reaches_the_loss_as_language_ids(tmp_path, tiny_backbone):
    """The trainer change proposed for per-row languages: a 'label' column of language indices."""
    model = SentenceTransformer(tiny_backbone, device="cpu")
    loss = EMSLoss(model, ["eng", "deu", "fra"])
    seen = []
    forward = loss.forward

    def spy(features, labels=None):
        seen.append(labels.clone())
        return forward(features, labels)

    loss.forward = spy
    dataset = Dataset.from_dict({"source": TEXTS[0::2], "target": TEXTS[1::2], "label": [1, 2] * 10})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        max_steps=2,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
    assert len(seen) == 2 and all(
        set(labels.tolist()) <= {1, 2} and labels.dtype == torch.long for labels in seen
    )


def test_the_trainer_gives_ems_each_rows_source_language(tmp_path, data_root, tiny_backbone, monkeypatch):
    """Without the label column EMS's XTR head would give every row one shared language embedding."""
    seen = []
    forward = EMSLoss.forward

    def spy(self, features, labels=None):
        seen.append(labels)
        return forward(self, features, labels)

    monkeypatch.setattr(EMSLoss, "forward", spy)
    config = tiny_config(tmp_path, data_root, "ems", tiny_backbone, langs="deu,fra", max_steps=3)
    train(config)
    languages = training_languages(config)
    assert len(seen) == 3 and all(labels is not None for labels in seen)
    assert {languages[i] for labels in seen for i in labels.tolist()} == {"deu", "fra"}


def test_dap_recipe_predicts_over_the_english_pieces_and_full_turns_it_off(tiny_backbone):
    model = load_pretrained_encoder(tiny_backbone)
    english = TEXTS[1::2]
    config = build_config(recipe="dap", overrides={"rtl_layers": 1})
    loss = build_objective(model, config, english)
    ids = {i for sentence in english for i in model.tokenizer(sentence)["input_ids"]}
    assert loss.rtl.vocabulary_ids.tolist() == sorted(ids - set(model.tokenizer.all_special_ids))
    assert len(loss.rtl.vocabulary_ids) < len(model.tokenizer)
    full = build_config(recipe="dap", overrides={"rtl_layers": 1, "rtl_vocabulary": "full"})
    assert build_objective(model, full, english).rtl.vocabulary_ids is None
    with pytest.raises(ConfigError, match="needs the pivot side"):
        build_objective(model, config)


@pytest.mark.parametrize("term", ["ugt", "rtl", "word"])
def test_tr_plus_trains_end_to_end(tmp_path, data_root, tiny_backbone, term):
    config = tiny_config(tmp_path, data_root, "tr", tiny_backbone, objective="tr_plus", token_term=term)
    run, _ = train(config)
    log = [json.loads(line) for line in (run.output / "train_log.jsonl").read_text().splitlines()]
    name = "word_contrastive" if term == "word" else term
    assert {"translation_ranking", name} <= set(log[0])
    assert torch.isfinite(torch.tensor(log[0][name]))
    heads = {
        key.split(".")[1] for key in load_file(str(run.output / "checkpoints" / "checkpoint-2" / HEADS_FILE))
    }
    assert heads == {"ugt": {"predictor"}, "rtl": {"rtl"}, "word": {"head"}}[term]  # the term's own head
