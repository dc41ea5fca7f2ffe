"""The outbreak module's JSON endpoints: the same selectors and actions as the pages."""

from ninja import Router

router = Router(tags=["outbreak"])
