"""/voice/: the team's pages (requests, common questions, hotline, notices and robots, counts)."""

from tongxin.voice.views import dashboard, groups, hotline, ledger, notices, requests

app_name = "voice"
urlpatterns = [
    *dashboard.urlpatterns,
    *ledger.urlpatterns,
    *requests.urlpatterns,
    *groups.urlpatterns,
    *hotline.urlpatterns,
    *notices.urlpatterns,
]
