from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tongxin.accounts import ratelimit
from tongxin.core.audit import audit, client_ip


class RateLimitedLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。"),
        "blocked": _("尝试次数过多，请%(minutes)d分钟后再试。"),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_ip(self.request) if self.request else None
        if ratelimit.is_blocked(username, address):
            from django.conf import settings

            audit(actor=None, action="login_blocked", label=username, ip=address)
            raise forms.ValidationError(
                self.error_messages["blocked"],
                code="blocked",
                params={"minutes": settings.LOGIN_FAILURE_WINDOW_SECONDS // 60},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            ratelimit.record_failure(username, address)
            audit(actor=None, action="login_failed", label=username, ip=address)
            raise
        ratelimit.clear(username)
        return cleaned
