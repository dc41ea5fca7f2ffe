"""Tongxin (同心): outbreak response for residential communities."""
