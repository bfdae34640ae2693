"""EcoVarejo benchmarks against the physical limit: every figure is measured next to a raw
PostgreSQL / HTTP baseline taken in the same run. Run with `python -m bench` (or
`make bench`); `BENCH_QUICK=1` for a fast smoke run. Not part of the test suite."""
