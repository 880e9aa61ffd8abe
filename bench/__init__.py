"""Benchmarks: the routing kernel (kernel.py, pytest-benchmark twins) and the engine."""
