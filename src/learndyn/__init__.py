"""learndyn: exact learning dynamics of linear networks, effective theories of deep ones.

Pure, vectorised functions over NumPy arrays. Modules:

* :mod:`learndyn.init`      -- initialisations (zero-balanced, random normal, ...)
* :mod:`learndyn.tasks`     -- task generators (whitening, random regression, teacher-student, ...)
* :mod:`learndyn.simulate`  -- batched full-batch gradient descent of two-layer networks
* :mod:`learndyn.exact`     -- closed-form solutions (paper A Theorem 3.1 and relatives)
* :mod:`learndyn.metrics`   -- RSMs, NTK, losses
* :mod:`learndyn.io`        -- the parquet trajectory schema (the only file I/O besides plotting)
* :mod:`learndyn.plotting`  -- shared figure style and panel helpers
* :mod:`learndyn.figures`   -- one module per paper figure: protocol (compute), checks, drawing
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
