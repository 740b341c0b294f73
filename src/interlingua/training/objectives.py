"""Objective names (the ``objective`` key of a recipe) and the loss module each one builds.

Single terms, each usable on its own: ``translation_ranking``, ``xtr``, ``ugt``, ``align``, ``sim``,
``ems_contrastive``, ``rtl``, ``cz_nce``, ``distillation``.  The methods, whose terms share one
forward pass per step: ``lightweight`` (UGT + 2 ALIGN + 2 SIM), ``ems`` (XTR + 2 CL), ``dap``
(TR + 0.1 RTL), ``mlctl`` (sentence and word CZ-NCE + 0.1 MLM).  The hybrids: ``tr_plus``
(translation ranking + ``token_weight`` x one token term, ``token_term``: xtr, ugt, rtl or word).
See METHODS.md and each loss's docstring for the formulas.

Every loss module is a ``SplitLoss`` (:mod:`interlingua.losses.engine`), so ``cache_chunk_size``
(GradCache) and ``gather_negatives`` work the same way for all of them.

Per-row languages: EMS's XTR head needs each pair's source language.  Losses take it as the
``labels`` tensor, holding each row's index in :func:`training_languages` (the pivot is index 0;
``training/data.py`` gives each row its label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sentence_transformers import SentenceTransformer

from interlingua.data.languages import parse_language_list
from interlingua.errors import ConfigError
from interlingua.losses.align import AlignLoss
from interlingua.losses.cz_nce import CZNCELoss
from interlingua.losses.dap import DAPLoss
from interlingua.losses.distillation import DistillationLoss
from interlingua.losses.ems import EMSLoss
from interlingua.losses.ems_contrastive import EMSContrastiveLoss
from interlingua.losses.engine import SplitLoss
from interlingua.losses.lightweight import LightweightLoss
from interlingua.losses.mlctl import MLCTLLoss
from interlingua.losses.rtl import RTLLoss, restrict_rtl_vocabulary
from interlingua.losses.sim import SimLoss
from interlingua.losses.tr_plus import RTLTerm, TokenTerm, TRPlusLoss, UGTTerm, WordTerm, XTRTerm
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.losses.ugt import UGTLoss
from interlingua.losses.xtr import LANGUAGE_HEADS, XTRLoss
from interlingua.training.config import TrainConfig


def training_languages(config: TrainConfig) -> list[str]:
    """Language codes indexed by the per-row language ids: the pivot, then the trained languages."""
    codes = [language.code for language in parse_language_list(config.langs)] if config.langs else []
    return [config.pivot, *sorted(code for code in codes if code != config.pivot)]


def _translation_ranking(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return TranslationRankingLoss(
        model, scale=config.scale, margin=config.margin, bidirectional=config.bidirectional
    )


def _xtr(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return XTRLoss(model, config.xtr_head, training_languages(config), config.language_embedding_dim)


def _ugt(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return UGTLoss(
        model,
        config.xtr_head,
        training_languages(config),
        config.language_embedding_dim,
        config.ugt_mask_weight,
    )


def _align(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return AlignLoss(model)


def _sim(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return SimLoss(model)


def _ems_contrastive(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return EMSContrastiveLoss(model, scale=config.scale, projection_dim=config.projection_dim)


def _lightweight(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return LightweightLoss(
        model,
        align_weight=config.align_weight,
        sim_weight=config.sim_weight,
        mask_weight=config.ugt_mask_weight,
    )


def _ems(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return EMSLoss(
        model,
        training_languages(config),
        language_dim=config.language_embedding_dim,
        scale=config.scale,
        projection_dim=config.projection_dim,
        contrastive_weight=config.contrastive_weight,
    )


def _rtl(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return RTLLoss(model, layers=config.rtl_layers)


def _dap(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return DAPLoss(
        model,
        scale=config.scale,
        margin=config.margin,
        rtl_weight=config.rtl_weight,
        rtl_layers=config.rtl_layers,
    )


TOKEN_TERMS: dict[str, Callable[[SentenceTransformer, TrainConfig], TokenTerm]] = {
    "xtr": lambda model, config: XTRTerm(
        model, config.xtr_head, training_languages(config), config.language_embedding_dim
    ),
    "ugt": lambda model, config: UGTTerm(
        model,
        config.xtr_head,
        training_languages(config),
        config.language_embedding_dim,
        config.ugt_mask_weight,
    ),
    "rtl": lambda model, config: RTLTerm(model, config.rtl_layers),
    "word": lambda model, config: WordTerm(model, config.lexicon, cross_zero=config.cross_zero),
}
XTR_TERMS = ("xtr", "ugt")  # the token terms trained through the XTR head of ``xtr_head``


def _token_term(model: SentenceTransformer, config: TrainConfig) -> TokenTerm:
    if config.token_term not in TOKEN_TERMS:
        raise ConfigError(f"unknown token_term {config.token_term!r}: choose xtr, ugt, rtl or word")
    return TOKEN_TERMS[config.token_term](model, config)


def _tr_plus(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return TRPlusLoss(
        model,
        _token_term(model, config),
        config.token_weight,
        scale=config.scale,
        margin=config.margin,
        bidirectional=config.bidirectional,
    )


def _cz_nce(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return CZNCELoss(model, scale=config.scale, cross_zero=config.cross_zero)


def _mlctl(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    return MLCTLLoss(
        model,
        lexicon=config.lexicon,
        scale=config.scale,
        cross_zero=config.cross_zero,
        sentence_weight=config.sentence_weight,
        word_weight=config.word_weight,
        mlm_weight=config.mlm_weight,
        mlm_probability=config.mlm_probability,
    )


def _distillation(model: SentenceTransformer, config: TrainConfig) -> SplitLoss:
    if not config.teacher:
        raise ConfigError("the distillation objective needs a teacher: pass --teacher MODEL")
    if config.streaming:
        raise ConfigError(
            "distillation reads its pairs into memory, so that the teacher encodes each distinct English "
            "sentence once: leave --streaming out"
        )
    # No teacher model here: the trainer hands each row its cached teacher embedding (row_labels).
    return DistillationLoss(
        model,
        teacher_prefix=config.teacher_prefix,
        distill_weight=config.distill_weight,
        ranking_weight=config.ranking_weight,
        center=config.distill_center,
        scale=config.scale,
    )


def _never(config: TrainConfig) -> bool:
    return False


def _xtr_head_reads_languages(config: TrainConfig) -> bool:
    return config.xtr_head in LANGUAGE_HEADS


def _token_term_reads_languages(config: TrainConfig) -> bool:
    return config.token_term in XTR_TERMS and _xtr_head_reads_languages(config)


RANKING = ("scale", "margin", "bidirectional")
XTR = ("xtr_head", "language_embedding_dim")
UGT = (*XTR, "ugt_mask_weight")
RTL = ("rtl_layers", "rtl_vocabulary")
TOKEN_TERM_KEYS = {
    "xtr": XTR,
    "ugt": UGT,
    "rtl": RTL,
    "word": ("lexicon", "cross_zero"),
}


@dataclass(frozen=True)
class Objective:
    """An objective name's loss, and what it asks of the config and the data.

    ``keys``: the config keys of the objective's section that its loss reads (the others do not
    apply to it).  ``reads_languages``: whether, under ``config``, the loss reads each row's source
    language from ``labels`` (an EMS XTR head), so that the data must name the languages."""

    build: Callable[[SentenceTransformer, TrainConfig], SplitLoss]
    keys: tuple[str, ...] = ()
    reads_languages: Callable[[TrainConfig], bool] = _never

    def settings(self, config: TrainConfig) -> tuple[str, ...]:
        """The objective keys that apply under ``config`` (tr_plus: its token term's too)."""
        term = TOKEN_TERM_KEYS.get(config.token_term, ()) if "token_term" in self.keys else ()
        return (*self.keys, *term)


OBJECTIVES: dict[str, Objective] = {
    "translation_ranking": Objective(_translation_ranking, RANKING),
    "xtr": Objective(_xtr, XTR, _xtr_head_reads_languages),
    "ugt": Objective(_ugt, UGT, _xtr_head_reads_languages),
    "align": Objective(_align),
    "sim": Objective(_sim),
    "ems_contrastive": Objective(_ems_contrastive, ("scale", "projection_dim")),
    "lightweight": Objective(_lightweight, ("align_weight", "sim_weight", "ugt_mask_weight")),
    "ems": Objective(
        _ems,
        ("language_embedding_dim", "scale", "projection_dim", "contrastive_weight"),
        lambda config: True,
    ),
    "rtl": Objective(_rtl, RTL),
    "dap": Objective(_dap, ("scale", "margin", "rtl_weight", *RTL)),
    "tr_plus": Objective(_tr_plus, (*RANKING, "token_term", "token_weight"), _token_term_reads_languages),
    "cz_nce": Objective(_cz_nce, ("scale", "cross_zero")),
    "mlctl": Objective(
        _mlctl,
        ("lexicon", "scale", "cross_zero", "sentence_weight", "word_weight", "mlm_weight", "mlm_probability"),
    ),
    "distillation": Objective(
        _distillation,
        (
            "teacher",
            "teacher_prefix",
            "teacher_cache",
            "distill_weight",
            "ranking_weight",
            "distill_center",
            "scale",
        ),
    ),
}
# Keys of the objective section: a model card lists those of its own objective only.
OBJECTIVE_KEYS = frozenset(key for entry in OBJECTIVES.values() for key in entry.keys) | {
    key for keys in TOKEN_TERM_KEYS.values() for key in keys
}


def objective(config: TrainConfig) -> Objective:
    """The objective ``config`` names."""
    if config.objective not in OBJECTIVES:
        raise ConfigError(
            f"unknown objective {config.objective!r}; available: {', '.join(sorted(OBJECTIVES))}"
        )
    return OBJECTIVES[config.objective]


def needs_language_ids(config: TrainConfig) -> bool:
    """Whether the objective reads each row's source language from ``labels`` (EMS's XTR head)."""
    return objective(config).reads_languages(config)


def build_objective(
    model: SentenceTransformer, config: TrainConfig, pivot_sentences: Sequence[str] = ()
) -> SplitLoss:
    """The objective's loss module, set to run as configured (GradCache chunks, gathered negatives).

    ``pivot_sentences``: the pivot side of the training pairs, whose pieces an RTL head predicts
    over (``rtl_vocabulary: english``)."""
    loss = objective(config).build(model, config)
    if config.rtl_vocabulary == "english":
        restrict_rtl_vocabulary(loss, model.tokenizer, pivot_sentences)
    loss.configure(cache_chunk_size=config.cache_chunk_size, gather_negatives=config.gather_negatives)
    return loss
