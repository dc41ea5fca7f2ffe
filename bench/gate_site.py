"""The app server of bench/gate.py: the project's WSGI application, its settings and every URL of
its own, plus one bare JSON view, so that the gate check and its baseline are served by the same
gunicorn workers in the same run. Bench-only: the project carries no benchmark code.

    gunicorn --pythonpath bench gate_site:application

The bare view (`POST /bench/bare`) goes through the same middleware as the API (session, CSRF,
authentication, locale, CSP...), reads the logged-in user as any authenticated endpoint does (the
session row and the user row), reads the same JSON body as a check, and answers a small
JsonResponse: the floor under which no authenticated JSON endpoint of this project can go.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

application = get_wsgi_application()  # django.setup(): the project's settings, as production
settings.ROOT_URLCONF = __name__  # the project's URLs (included below) and the bare view

BARE_PATH = "bench/bare"


def bare(request):
    if request.method != "POST":
        return JsonResponse({"detail": "POST"}, status=405)
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "login"}, status=401)
    body = json.loads(request.body)
    return JsonResponse({"id": body.get("id"), "allowed": True, "reason": "ok", "user": request.user.pk})


urlpatterns = [path(BARE_PATH, bare, name="bench-bare"), path("", include("tongxin.config.urls"))]
