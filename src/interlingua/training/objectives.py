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
``labels`` tensor, holding each row's index in :func:`training_languages` (the pivot is index 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sentence_transformers import SentenceTransformer
from torch import nn

from interlingua.data.languages import parse_language_list
from interlingua.data.parallel import ParallelCorpus
from interlingua.errors import ConfigError
from interlingua.losses.align import AlignLoss
from interlingua.losses.cz_nce import CZNCELoss
from interlingua.losses.dap import DAPLoss
from interlingua.losses.distillation import DistillationLoss, check_widths
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
from interlingua.losses.xtr import XTRLoss
from interlingua.models.teacher_cache import rows_for, teacher_embeddings, teacher_width
from interlingua.training.config import TrainConfig


def training_languages(config: TrainConfig) -> list[str]:
    """Language codes indexed by the per-row language ids: the pivot, then the trained languages."""
    codes = [language.code for language in parse_language_list(config.langs)] if config.langs else []
    return [config.pivot, *sorted(code for code in codes if code != config.pivot)]


def needs_language_ids(config: TrainConfig) -> bool:
    """Whether the objective reads each row's source language from ``labels`` (EMS's XTR head)."""
    xtr_heads = config.objective in ("xtr", "ugt") or (
        config.objective == "tr_plus" and config.token_term in ("xtr", "ugt")
    )
    return config.objective == "ems" or (xtr_heads and config.xtr_head == "ems")


def _translation_ranking(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return TranslationRankingLoss(
        model, scale=config.scale, margin=config.margin, bidirectional=config.bidirectional
    )


def _xtr(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return XTRLoss(model, config.xtr_head, training_languages(config), config.language_embedding_dim)


def _ugt(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return UGTLoss(
        model,
        config.xtr_head,
        training_languages(config),
        config.language_embedding_dim,
        config.ugt_mask_weight,
    )


def _align(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return AlignLoss(model)


def _sim(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return SimLoss(model)


def _ems_contrastive(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return EMSContrastiveLoss(model, scale=config.scale, projection_dim=config.projection_dim)


def _lightweight(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return LightweightLoss(
        model,
        align_weight=config.align_weight,
        sim_weight=config.sim_weight,
        mask_weight=config.ugt_mask_weight,
    )


def _ems(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return EMSLoss(
        model,
        training_languages(config),
        language_dim=config.language_embedding_dim,
        scale=config.scale,
        projection_dim=config.projection_dim,
        contrastive_weight=config.contrastive_weight,
    )


def _rtl(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return RTLLoss(model, layers=config.rtl_layers)


def _dap(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return DAPLoss(
        model,
        scale=config.scale,
        margin=config.margin,
        rtl_weight=config.rtl_weight,
        rtl_layers=config.rtl_layers,
    )


def _token_term(model: SentenceTransformer, config: TrainConfig) -> TokenTerm:
    languages, width = training_languages(config), config.language_embedding_dim
    if config.token_term == "xtr":
        return XTRTerm(model, config.xtr_head, languages, width)
    if config.token_term == "ugt":
        return UGTTerm(model, config.xtr_head, languages, width, config.ugt_mask_weight)
    if config.token_term == "rtl":
        return RTLTerm(model, config.rtl_layers)
    if config.token_term == "word":
        return WordTerm(model, config.lexicon, cross_zero=config.cross_zero)
    raise ConfigError(f"unknown token_term {config.token_term!r}: choose xtr, ugt, rtl or word")


def _tr_plus(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return TRPlusLoss(
        model,
        _token_term(model, config),
        config.token_weight,
        scale=config.scale,
        margin=config.margin,
        bidirectional=config.bidirectional,
    )


def _cz_nce(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return CZNCELoss(model, scale=config.scale, cross_zero=config.cross_zero)


def _mlctl(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
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


def _distillation(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
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


OBJECTIVES: dict[str, Callable[[SentenceTransformer, TrainConfig], nn.Module]] = {
    "translation_ranking": _translation_ranking,
    "xtr": _xtr,
    "ugt": _ugt,
    "align": _align,
    "sim": _sim,
    "ems_contrastive": _ems_contrastive,
    "lightweight": _lightweight,
    "ems": _ems,
    "rtl": _rtl,
    "dap": _dap,
    "tr_plus": _tr_plus,
    "cz_nce": _cz_nce,
    "mlctl": _mlctl,
    "distillation": _distillation,
}


def build_objective(
    model: SentenceTransformer, config: TrainConfig, pivot_sentences: Sequence[str] = ()
) -> nn.Module:
    """The objective's loss module, set to run as configured (GradCache chunks, gathered negatives).

    ``pivot_sentences``: the pivot side of the training pairs, whose pieces an RTL head predicts
    over (``rtl_vocabulary: english``)."""
    if config.objective not in OBJECTIVES:
        raise ConfigError(
            f"unknown objective {config.objective!r}; available: {', '.join(sorted(OBJECTIVES))}"
        )
    loss = OBJECTIVES[config.objective](model, config)
    if config.rtl_vocabulary == "english":
        restrict_rtl_vocabulary(loss, model.tokenizer, pivot_sentences)
    if isinstance(loss, SplitLoss):
        loss.configure(cache_chunk_size=config.cache_chunk_size, gather_negatives=config.gather_negatives)
    elif config.cache_chunk_size is not None:
        raise ConfigError(f"objective {config.objective!r} does not support cache_chunk_size")
    return loss


def row_labels(loss: nn.Module, config: TrainConfig, corpora: Sequence[ParallelCorpus]) -> list[int] | None:
    """What reaches the loss as ``labels``, one per training pair: its language's index in
    :func:`training_languages` (EMS's XTR head), or its row of the teacher's embeddings, which this
    computes once per distinct English sentence or reads from the cache (distillation); None when
    the objective reads no label."""
    if needs_language_ids(config):
        index = {code: i for i, code in enumerate(training_languages(config))}
        return [index[corpus.src_lang] for corpus in corpora for _ in range(len(corpus))]
    if isinstance(loss, DistillationLoss):
        # Before the teacher encodes anything: a student of another width cannot be compared with it.
        check_widths(loss.model.get_embedding_dimension(), teacher_width(config.teacher))
        distinct, rows = rows_for([sentence for corpus in corpora for sentence in corpus.tgt])
        matrix, _ = teacher_embeddings(
            config.teacher, distinct, prefix=config.teacher_prefix, cache_root=config.teacher_cache
        )
        loss.use_teacher_rows(matrix)
        return rows.tolist()
    return None
