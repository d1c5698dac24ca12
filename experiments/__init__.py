"""What users run: the CLI, the comparison, sweeps, scaling studies and benchmarks."""
