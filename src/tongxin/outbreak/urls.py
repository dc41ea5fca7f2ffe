from django.urls import path

from tongxin.outbreak import views

app_name = "outbreak"
urlpatterns = [
    # Cases, contacts, transfers, isolations, check-ins, follow-up, transmission graph.
    path("compounds/<int:compound_id>/cases/", views.case_list, name="case_list"),
    path("compounds/<int:compound_id>/cases/new/", views.case_new, name="case_new"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/transfer/", views.case_transfer, name="case_transfer"),
    path("cases/<int:case_id>/outcome/", views.case_outcome, name="case_outcome"),
    path("compounds/<int:compound_id>/contacts/", views.contact_list, name="contact_list"),
    path("compounds/<int:compound_id>/contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/became-case/", views.contact_became_case, name="contact_became_case"),
    path("compounds/<int:compound_id>/transfers/new/", views.transfer_new, name="transfer_new"),
    path("transfers/<int:batch_id>/", views.transfer_detail, name="transfer_detail"),
    path("compounds/<int:compound_id>/isolations/", views.isolation_list, name="isolation_list"),
    path("compounds/<int:compound_id>/isolations/new/", views.isolation_new, name="isolation_new"),
    path("isolations/<int:isolation_id>/release/", views.isolation_release, name="isolation_release"),
    path("compounds/<int:compound_id>/follow-up/", views.followup, name="followup"),
    path("isolations/<int:isolation_id>/checkin/", views.followup_checkin, name="followup_checkin"),
    path("isolations/<int:isolation_id>/sampled/", views.followup_sampled, name="followup_sampled"),
    path("checkin/", views.my_checkin, name="my_checkin"),
    path("compounds/<int:compound_id>/graph/", views.graph, name="graph"),
    # Risk areas and compound status.
    path("", views.index, name="index"),
    path("compounds/<int:compound_id>/", views.overview, name="overview"),
    path("compounds/<int:compound_id>/areas/raise/", views.area_raise, name="area_raise"),
    path("compounds/<int:compound_id>/status/", views.compound_status, name="compound_status"),
    path("areas/<int:area_id>/", views.area, name="area"),
    path("areas/<int:area_id>/screening/", views.area_screening, name="area_screening"),
    path("areas/<int:area_id>/lower/", views.area_lower, name="area_lower"),
    path("areas/<int:area_id>/lift/", views.area_lift, name="area_lift"),
]
