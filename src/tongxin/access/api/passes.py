"""JSON API of the access module: passes."""

from ninja import Router

router = Router()
