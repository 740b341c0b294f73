"""Evaluation of sentence encoders: Tatoeba, FLORES-200 xSIM, BUCC, STS17, XNLI and PAWS-X zero-shot.

One module per task (``tatoeba``, ``flores``, ``bucc``, ``sts``, ``zeroshot``), each stating its exact
protocol; ``suite`` runs several on one encoder with every distinct sentence encoded once
(``embeddings``); ``report`` prints tables, writes JSON, compares result files and plots; ``muse``
wraps Google's mUSE v3 for reference rows.  The command line is ``interlingua eval``.
"""
