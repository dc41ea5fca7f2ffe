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

urlpatterns += [
    path("import/", views.import_upload, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<uuid:upload_id>/", views.import_preview, name="import_preview"),
    path("import/<uuid:upload_id>/confirm/", views.import_confirm, name="import_confirm"),
    path("compounds/<int:compound_id>/export.xlsx", views.export, name="export"),
]
