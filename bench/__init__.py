"""Fieldbot benchmarks: figures taken as ratios against a baseline measured in the same run,
because the machines are shared and noisy.  ``python -m bench --help``."""
