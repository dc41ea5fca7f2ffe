"""/access/policy/: the compound's exit policy. Compound managers, officials and admins edit it
(with the version they saw: a change made meanwhile by someone else is not overwritten); the rest
of the compound's team reads it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from tongxin.access.actions.policy import POLICY_FIELDS, may_edit_policy, policy_update
from tongxin.access.forms import PolicyForm
from tongxin.access.selectors.policy import policy_of
from tongxin.access.selectors.scope import require_sees_access
from tongxin.core.pages import compound_choice
from tongxin.outbreak.errors import StaleEdit


def _form_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error)


@login_required
def policy(request):
    user = request.user
    require_sees_access(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "access/choose.html", {"compounds": compounds, "target": "access:policy"})
    current = policy_of(compound)
    editable = may_edit_policy(user)
    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("当前角色不能修改出入政策"))
        form = PolicyForm(request.POST, instance=policy_of(compound))
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
            try:
                policy_update(actor=user, compound=compound, version=form.cleaned_data["version"], **fields)
            except StaleEdit as error:
                form.add_error(None, error)
                status = 409
            except ValidationError as error:
                _form_error(form, error)
                status = 400
            else:
                messages.success(request, _("出入政策已保存"))
                return redirect(f"{reverse('access:policy')}?compound={compound.pk}")
        else:
            status = 400
    else:
        form = PolicyForm(instance=current, initial={"version": current.version})
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    context = {"compound": compound, "policy": current, "form": form, "editable": editable}
    return render(request, "access/policy.html", context, status=status)


urlpatterns = [path("policy/", policy, name="policy")]
