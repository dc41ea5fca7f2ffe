"""/supplies/settings/: a compound's supply settings (the parcels' hold time after disinfection,
the controlled buildings' pick-up slots, the care visits' interval). Compound managers and admins
edit them; officials, grid workers read them; volunteers and residents are refused."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from tongxin.core.pages import compound_choice
from tongxin.supplies.actions.settings import FIELDS, may_edit_settings, settings_update
from tongxin.supplies.forms.parcels import SettingsForm
from tongxin.supplies.selectors.scope import STOCK_KEEPERS
from tongxin.supplies.selectors.settings import settings_for


@login_required
def supply_settings(request):
    user = request.user
    if user.role not in STOCK_KEEPERS:
        raise PermissionDenied(_("当前角色不能查看物资设置"))
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(
            request, "supplies/choose.html", {"compounds": compounds, "target": "supplies:settings"}
        )
    current = settings_for(user, compound)
    editable = may_edit_settings(user)
    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("当前角色不能修改物资设置"))
        form = SettingsForm(request.POST, instance=settings_for(user, compound))
        if form.is_valid():
            try:
                settings_update(
                    actor=user, compound=compound, **{name: form.cleaned_data[name] for name in FIELDS}
                )
            except ValidationError as error:
                for name, found in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, found)
                status = 400
            else:
                messages.success(request, _("物资设置已保存"))
                return redirect(f"{reverse('supplies:settings')}?compound={compound.pk}")
        else:
            status = 400
    else:
        form = SettingsForm(instance=current)
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    context = {"compound": compound, "form": form, "editable": editable, "saved": not current._state.adding}
    return render(request, "supplies/settings.html", context, status=status)


urlpatterns = [path("settings/", supply_settings, name="settings")]
