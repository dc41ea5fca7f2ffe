from django.urls import path

from tongxin.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.home, name="home"),
    path("compounds/<int:compound_id>/", views.compound, name="compound"),
    path("compounds/<int:compound_id>/care/", views.care_list, name="care_list"),
    path("units/<int:unit_id>/households/", views.unit_households, name="unit_households"),
    path("households/<int:household_id>/", views.household, name="household"),
    path("residents/<int:resident_id>/", views.resident, name="resident"),
    path("residents/<int:resident_id>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("residents/<int:resident_id>/presence/", views.resident_presence, name="resident_presence"),
    path("search/", views.search, name="search"),
]
