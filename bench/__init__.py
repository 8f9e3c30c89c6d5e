"""Benchmarks for the registration handler (issue 7): `python -m bench.run`, see bench/README.md.

Nothing here is imported by the handler or the deployed stack. The handler package lives in
``lambdas/`` (its zip root), which pytest puts on ``sys.path`` through pyproject.toml; the bench
is also run as ``python -m bench.run``, so it adds the same directory itself.
"""

import sys
from pathlib import Path

_LAMBDAS = str(Path(__file__).resolve().parents[1] / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.append(_LAMBDAS)
