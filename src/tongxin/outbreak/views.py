"""Outbreak pages: parse the request, call one selector or action, render."""
