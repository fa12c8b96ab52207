"""Annotation reads: plain functions that return rows or querysets, never write."""
