"""JSON API of the access module: gates."""

from ninja import Router

router = Router()
