"""The JSON API (/api/v1/, OpenAPI at /api/v1/openapi.json). Session authentication with CSRF.

Actions and selectors raise Django's exceptions; here they become JSON: Http404 -> 404 (also for
records outside the caller's scope), PermissionDenied -> 403, ValidationError -> 400 with the
messages per field, except a stale edit (`outbreak.errors.StaleEdit`: the record changed since it
was read, nothing written) -> 409. The docs page (/api/v1/docs) loads Swagger UI from ninja's
static files ("ninja" is an installed app), so it works under the Content Security Policy without
a CDN.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.security import django_auth

from tongxin.access.api import router as access_router
from tongxin.outbreak.api import router as outbreak_router
from tongxin.outbreak.errors import StaleEdit
from tongxin.registry.api import router as registry_router
from tongxin.supplies.api import router as supplies_router
from tongxin.testing.api import router as testing_router
from tongxin.voice.api import router as voice_router

api = NinjaAPI(title="Tongxin API", version="1", auth=django_auth, urls_namespace="api")
api.add_router("/", registry_router)
api.add_router("/outbreak/", outbreak_router)
api.add_router("/testing/", testing_router)
api.add_router("/access/", access_router)
api.add_router("/supplies/", supplies_router)
api.add_router("/voice/", voice_router)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": _("未找到")}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or _("无权进行该操作")}, status=403)


@api.exception_handler(StaleEdit)
def stale(request, exc):
    return api.create_response(request, {"detail": exc.messages[0]}, status=409)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request, exc):
    """A number too large for the database (an id of thirty digits in a query string)."""
    return api.create_response(request, {"detail": _("参数超出范围")}, status=400)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    detail = "；".join(message for messages in errors.values() for message in messages)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)
