"""JSON API of the voice module: notices (filled in by its owner)."""

from ninja import Router

router = Router()
