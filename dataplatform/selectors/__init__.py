"""Reads: typed functions that return querysets or rows, named ``<entity>_<what>``."""
