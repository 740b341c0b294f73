"""Evaluation of sentence encoders: Tatoeba, FLORES-200 xSIM, BUCC, STS17, XNLI and PAWS-X zero-shot.

One module per task (``tatoeba``, ``flores``, ``bucc``, ``sts``, ``zeroshot``), each stating its exact
protocol; ``suite`` runs several on one encoder with every distinct sentence encoded once
(``embeddings``); ``report`` prints tables, writes JSON, compares result files and plots; ``muse``
wraps Google's mUSE v3 for reference rows.  The command line is ``interlingua eval``.
"""

from typing import TYPE_CHECKING

from interlingua.exports import lazy_exports

if TYPE_CHECKING:  # the public names; each is imported when first used (interlingua.exports)
    from interlingua.evaluation.bucc import evaluate_bucc
    from interlingua.evaluation.evaluator import FloresEvaluator, TaskEvaluator, TatoebaEvaluator
    from interlingua.evaluation.export_check import check_export
    from interlingua.evaluation.flores import evaluate_flores
    from interlingua.evaluation.sts import evaluate_sts17
    from interlingua.evaluation.suite import run_suite
    from interlingua.evaluation.tatoeba import evaluate_tatoeba, load_tatoeba, score_tatoeba
    from interlingua.evaluation.zeroshot import evaluate_zero_shot

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
