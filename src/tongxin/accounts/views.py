from django.contrib.auth import views as auth_views

from tongxin.accounts.forms import RateLimitedLoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = RateLimitedLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass
