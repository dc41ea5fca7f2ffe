"""JSON API of the voice module: portal (filled in by its owner)."""

from ninja import Router

router = Router()
