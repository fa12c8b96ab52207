"""Annotation writes, one module per subdomain."""
