"""/voice/: the team's pages (requests, common questions, hotline, notices and robots, counts)."""

from tongxin.voice.views import dashboard, groups, hotline, notices, requests

app_name = "voice"
urlpatterns = [
    *dashboard.urlpatterns,
    *requests.urlpatterns,
    *groups.urlpatterns,
    *hotline.urlpatterns,
    *notices.urlpatterns,
]
