"""Benchmarks of the engine against the bare libraries, measured in one run (issue 7):
``python -m bench`` writes docs/benchmarks.md, ``python -m bench --quick`` a small run."""
