"""Solver backends (HiGHS, SCIP, CP-SAT), the registry, IR -> solver model builders, result types, diagnosis and the sandbox for generated code."""
