from django.urls import path

from csvhub.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
