"""JSON API of the voice module: hotline (filled in by its owner)."""

from ninja import Router

router = Router()
