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
