"""/portal/: the resident portal (login by phone and one-time code or a household link; the
household's notices, testing slot, members, parcels and requests)."""

from tongxin.voice.views import portal

app_name = "portal"
urlpatterns = [*portal.urlpatterns]
