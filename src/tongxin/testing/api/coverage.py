"""JSON API of mass testing: coverage."""

from ninja import Router

router = Router(tags=["testing"])
