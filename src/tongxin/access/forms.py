"""Forms of the access pages: they parse and label; the actions decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.access.actions.passes import REVOKE_REASONS
from tongxin.access.actions.policy import POLICY_FIELDS
from tongxin.access.models import AccessPolicy, Pass

REVOKED_LABELS = dict(Pass.Revoked.choices)


class ReissueForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("补发原因"),
        choices=[(Pass.Revoked.LOST, _("丢失")), (Pass.Revoked.REISSUED, _("损坏或换证"))],
    )


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(label=_("注销原因"), choices=[(r, REVOKED_LABELS[r]) for r in REVOKE_REASONS])


class PolicyForm(forms.ModelForm):
    """The policy's fields as the model labels them, and the version the editor saw."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    class Meta:
        model = AccessPolicy
        fields = POLICY_FIELDS
        help_texts = {
            "exits_per_household": _("留空表示不限"),
            "exit_max_minutes": _("留空表示不限"),
            "exit_period_days": _("例如“每户每2天1人次”中的2"),
            "sealed_no_exit": _("住户所在区域为最高风险等级（封控）时"),
            "exit_needs_test": _("按规则的核酸有效时长判断"),
        }
