"""Bitext mining with LASER's margin criterion, in memory or out of core.

``margin``      k-NN search, margin scores and candidate modes in RAM (the reference path)
``pipeline``    the staged, resumable, memory-bounded run behind ``interlingua mine``
``ray_engine``  the same stages' units of work as Ray tasks (``--engine ray``)
``encoding``    ``interlingua encode --engine ray``: one file through the text and embed stages
``plan``        block sizes from ``--max-memory``
``store``       on-disk artefacts: text stores, matrices, progress and stage records
``embed``       the embedding stage (model or precomputed vectors)
``knn``         blockwise exact search or a FAISS index, with exact re-scoring
``scoring``     neighbourhood means and best matches from stored neighbours
``output``      threshold, top-N, de-duplication and the TSV
``calibrate``   F1-optimal threshold against gold pairs (BUCC format)
``histogram``   score histograms (PNG)
"""

from typing import TYPE_CHECKING

from interlingua.exports import lazy_exports

if TYPE_CHECKING:  # the public names; each is imported when first used (interlingua.exports)
    from interlingua.mining.calibrate import calibrate_files
    from interlingua.mining.knn import SearchSettings
    from interlingua.mining.margin import mine_in_memory
    from interlingua.mining.pipeline import MiningConfig, run_mining

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
