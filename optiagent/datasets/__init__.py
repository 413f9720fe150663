"""Benchmark loaders: every public set in the data directory turned into one `Problem` record."""
