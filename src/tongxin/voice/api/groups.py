"""JSON API of the voice module: groups (filled in by its owner)."""

from ninja import Router

router = Router()
