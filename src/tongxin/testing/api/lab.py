"""JSON API of mass testing: lab."""

from ninja import Router

router = Router(tags=["testing"])
