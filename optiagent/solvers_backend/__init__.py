"""Solver backends (HiGHS, SCIP, CP-SAT), their registry, model builders and result types.

Also the diagnosis of infeasible and unbounded models and the sandbox for generated code.
"""
