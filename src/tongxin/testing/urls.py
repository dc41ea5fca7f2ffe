from tongxin.testing.views import coverage, lab, planning, station

app_name = "testing"
urlpatterns = [*planning.urlpatterns, *station.urlpatterns, *lab.urlpatterns, *coverage.urlpatterns]
