"""Benchmarks: each figure is printed with its ratio to a reference measured in the same run."""
