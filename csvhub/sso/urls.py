from django.urls import URLPattern, path

from csvhub.sso import views

urlpatterns: list[URLPattern] = [
    # Everyone's sign-out (password or provider): it ends a provider session too.
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("sso/login/", views.sign_in, name="sso-login"),
    path("sso/callback/", views.callback, name="sso-callback"),
]
