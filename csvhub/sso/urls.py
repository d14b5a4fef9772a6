from django.urls import URLPattern, path

from csvhub.sso import views

urlpatterns: list[URLPattern] = [
    path("sso/login/", views.sign_in, name="sso-login"),
    path("sso/callback/", views.callback, name="sso-callback"),
]
