from tongxin.access.views import dashboard, gate, mine, passes, policy, visitors

app_name = "access"
urlpatterns = [
    *dashboard.urlpatterns,
    *gate.urlpatterns,
    *passes.urlpatterns,
    *visitors.urlpatterns,
    *policy.urlpatterns,
    *mine.urlpatterns,
]
