"""Pages of lab results: a round's lab file import (upload -> what it did, or every error), a
result entered by hand for one tube, the round's people under review (retests), and acknowledging
an alert. Health roles only: other roles get 403, another area's rounds and alerts 404."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.testing.actions.lab import alert_acknowledge, lab_file_apply, tube_result_set
from tongxin.testing.models import Retest, Tube
from tongxin.testing.selectors import lab as selectors

ACCEPTED_SUFFIXES = (".xlsx", ".csv", ".txt")
SHOWN_ERRORS = 500
RETESTS_PER_PAGE = 100


class LabUploadForm(forms.Form):
    file = forms.FileField(
        label=_lazy("检测结果文件（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
        error_messages={"required": _lazy("请选择要导入的文件"), "empty": _lazy("文件是空的")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.TONGXIN_LAB_MAX_BYTES:
            raise forms.ValidationError(
                _("文件太大（%(size)s）：最大%(max)s；请分成几个文件导入")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(settings.TONGXIN_LAB_MAX_BYTES)}
            )
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError(_("无法读取该文件：请上传 .xlsx 或 .csv 文件"))
        return upload


class TubeResultForm(forms.Form):
    code = forms.CharField(
        label=_lazy("管码"),
        max_length=Tube._meta.get_field("code").max_length,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}
        ),
    )
    result = forms.ChoiceField(
        label=_lazy("结果"),
        choices=[(Tube.Result.NEGATIVE, _lazy("阴性")), (Tube.Result.POSITIVE, _lazy("阳性"))],
        widget=forms.RadioSelect,
    )
    result_at = forms.DateTimeField(
        label=_lazy("检测时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _require_health(user) -> None:
    if not user.sees_health_data:
        raise PermissionDenied(_("当前角色不能查看检测结果"))


def _round(request, round_id: int):
    _require_health(request.user)
    return selectors.round_for_results(request.user, round_id)


def _lab_page(request, round_, *, form=None, tube_form=None, report=None, status=200):
    user = request.user
    errors = report.errors if report else []
    return render(
        request,
        "testing/lab_import.html",
        {
            "round": round_,
            "form": form or LabUploadForm(),
            "report": report,
            "errors": errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(errors) - SHOWN_ERRORS),
            "imports": selectors.lab_imports_of_round(user, round_),
            "alerts": selectors.alerts_of_round(user, round_),
            "retests": selectors.retest_counts(user, round_),
            "max_size": settings.TONGXIN_LAB_MAX_BYTES,
        },
        status=status,
    )


@never_cache
@login_required
def lab_import(request, round_id: int):
    """GET: the upload form, the latest files and open alerts; POST: apply the file and show what
    it did, or every error (nothing applied)."""
    round_ = _round(request, round_id)
    if request.method != "POST":
        return _lab_page(request, round_)
    form = LabUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _lab_page(request, round_, form=form, status=400)
    upload = form.cleaned_data["file"]
    report = lab_file_apply(actor=request.user, file_name=upload.name, content=upload.read(), round=round_)
    return _lab_page(request, round_, report=report, status=400 if report.errors else 200)


@never_cache
@login_required
def tube_result(request, round_id: int):
    """One tube's result entered by hand (a retest phoned through by the lab)."""
    round_ = _round(request, round_id)
    if request.method != "POST":
        form = TubeResultForm(
            initial={"code": request.GET.get("code", ""), "result_at": timezone.localtime()}
        )
        return render(request, "testing/lab_tube_result.html", {"round": round_, "form": form})
    form = TubeResultForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        tube = selectors.tube_of_round(request.user, round_, data["code"])
        if tube is None:
            form.add_error("code", _("本轮检测查无此试管：%(code)s") % {"code": data["code"].strip().upper()})
        else:
            try:
                report = tube_result_set(
                    actor=request.user, tube=tube, result=data["result"], result_at=data["result_at"]
                )
            except ValidationError as error:
                for field, field_messages in getattr(error, "message_dict", {None: error.messages}).items():
                    form.add_error(field if field in form.fields else None, field_messages)
            else:
                text = _("已录入试管%(code)s的结果：%(result)s") % {
                    "code": tube.code,
                    "result": tube.get_result_display(),
                }
                if report.people_under_review:
                    text += _("，%(n)d人待复核") % {"n": report.people_under_review}
                messages.success(request, text)
                return redirect("testing:lab_import", round_id=round_.pk)
    return render(request, "testing/lab_tube_result.html", {"round": round_, "form": form}, status=400)


@login_required
def retests(request, round_id: int):
    """The round's people under review: name, home, state, pool tube; by compound and home."""
    round_ = _round(request, round_id)
    compounds = selectors.round_compounds(request.user, round_)
    compound_id = request.GET.get("compound") or None
    if compound_id is not None and not any(str(c.pk) == compound_id for c in compounds):
        compound_id = None
    state = request.GET.get("state", "")
    page = Paginator(
        selectors.retests_of_round(request.user, round_, compound_id=compound_id, state=state),
        RETESTS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "testing/retest_list.html",
        {
            "round": round_,
            "compounds": compounds,
            "compound_id": compound_id,
            "state": state if state in Retest.State.values else "",
            "states": Retest.State.choices,
            "counts": selectors.retest_counts(request.user, round_, compound_id=compound_id),
            "page": page,
        },
    )


@login_required
@require_POST
def alert_ack(request, alert_id: int):
    """Acknowledge an alert: an HTMX request gets an empty answer (the alert is swapped out),
    a plain form goes back where it came from."""
    _require_health(request.user)
    alert = selectors.alert_get(request.user, alert_id)
    alert_acknowledge(actor=request.user, alert=alert)
    if getattr(request, "htmx", False):
        return HttpResponse("")
    messages.success(request, _("已确认提醒"))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    if alert.round_id:
        return redirect("testing:lab_import", round_id=alert.round_id)
    return redirect("/")


urlpatterns = [
    path("rounds/<int:round_id>/lab/", lab_import, name="lab_import"),
    path("rounds/<int:round_id>/lab/tube/", tube_result, name="tube_result"),
    path("rounds/<int:round_id>/retests/", retests, name="retests"),
    path("alerts/<int:alert_id>/ack/", alert_ack, name="alert_ack"),
]
