from tongxin.supplies.views import (
    campaigns,
    care,
    dashboard,
    donations,
    mine,
    parcels,
    requests,
    settings,
    stock,
)

app_name = "supplies"
urlpatterns = [
    *dashboard.urlpatterns,
    *stock.urlpatterns,
    *donations.urlpatterns,
    *parcels.urlpatterns,
    *requests.urlpatterns,
    *campaigns.urlpatterns,
    *care.urlpatterns,
    *settings.urlpatterns,
    *mine.urlpatterns,
]
