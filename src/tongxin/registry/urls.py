from django.urls import path

from tongxin.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.home, name="home"),
]
