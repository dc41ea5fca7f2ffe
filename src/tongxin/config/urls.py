from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from tongxin.config.api import api


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("tongxin.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("outbreak/", include("tongxin.outbreak.urls")),
    path("testing/", include("tongxin.testing.urls")),
    path("access/", include("tongxin.access.urls")),
    path("supplies/", include("tongxin.supplies.urls")),
    path("voice/", include("tongxin.voice.urls")),
    path("portal/", include("tongxin.voice.portal_urls")),
    path("", include("tongxin.registry.urls")),
]
