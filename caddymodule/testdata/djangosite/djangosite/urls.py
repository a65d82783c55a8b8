from django.contrib.auth import views as auth_views
from django.urls import path

from shop import views

urlpatterns = [
    path("", views.home),
    path("accounts/login/", auth_views.LoginView.as_view()),
    path("accounts/logout/", auth_views.LogoutView.as_view()),
    path("account/", views.AccountView.as_view()),
    path("free/<slug:slug>/", views.article, {"kind": "Free"}),
    path("premium/<slug:slug>/", views.article, {"kind": "Premium"}),
    path("_test/account-requests/", views.account_requests),
]
