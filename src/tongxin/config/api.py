"""The JSON API (/api/v1/, OpenAPI at /api/v1/openapi.json). Session authentication with CSRF."""

from django.http import Http404
from ninja import NinjaAPI
from ninja.security import django_auth

from tongxin.registry.api import router as registry_router

api = NinjaAPI(title="Tongxin API", version="1", auth=django_auth, urls_namespace="api")
api.add_router("/", registry_router)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "未找到"}, status=404)
