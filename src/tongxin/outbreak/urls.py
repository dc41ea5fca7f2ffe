from django.urls import path  # noqa: F401

from tongxin.outbreak import views  # noqa: F401

app_name = "outbreak"
urlpatterns: list = []

# Risk areas and compound status (risk_views.py)
from tongxin.outbreak import risk_views  # noqa: E402

urlpatterns += [
    path("", risk_views.index, name="index"),
    path("compounds/<int:compound_id>/", risk_views.overview, name="overview"),
    path("compounds/<int:compound_id>/areas/raise/", risk_views.area_raise, name="area_raise"),
    path("compounds/<int:compound_id>/status/", risk_views.compound_status, name="compound_status"),
    path("areas/<int:area_id>/", risk_views.area, name="area"),
    path("areas/<int:area_id>/screening/", risk_views.area_screening, name="area_screening"),
    path("areas/<int:area_id>/lower/", risk_views.area_lower, name="area_lower"),
    path("areas/<int:area_id>/lift/", risk_views.area_lift, name="area_lift"),
]
