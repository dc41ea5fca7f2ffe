"""The outbreak module's own refusals, shared by its actions, views and API."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class StaleEdit(ValidationError):
    """The record changed since the caller read it (its `version` moved on): nothing was written.

    Pages and the API answer 409 with the message.
    """

    def __init__(self):
        super().__init__(_("记录已被他人修改，请刷新后重试"), code="stale")
