"""Trace/OptoPrime-style feedback optimization: traced parameters, feedback, the LLM optimizer and classical numeric optimizers behind one interface."""
