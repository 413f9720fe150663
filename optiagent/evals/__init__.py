"""Evaluations: scoring rules, the resumable concurrent runner, reports and the single-shot baseline."""
