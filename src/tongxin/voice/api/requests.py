"""JSON API of the voice module: requests (filled in by its owner)."""

from ninja import Router

router = Router()
