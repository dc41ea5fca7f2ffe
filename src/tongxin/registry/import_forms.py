"""Forms of the import wizard and the export: they parse input only; the actions decide and write."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from tongxin.registry.importing import ImportFileError, read_table

ACCEPTED_SUFFIXES = (".xlsx", ".csv", ".txt")


class ImportUploadForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("小区"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("居民表（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
        error_messages={"required": _("请选择要导入的文件"), "empty": _("文件是空的")},
    )

    def __init__(self, *args, compounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.TONGXIN_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("文件太大（%(size)s）：最大%(max)s；请分成几个文件导入")
                % {
                    "size": filesizeformat(upload.size),
                    "max": filesizeformat(settings.TONGXIN_IMPORT_MAX_BYTES),
                }
            )
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError(_("无法读取该文件：请上传 .xlsx 或 .csv 文件"))
        content = upload.read()
        try:
            read_table(upload.name, content)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from None
        self.cleaned_data["content"] = content
        return upload


class ExportRevealForm(forms.Form):
    reason = forms.CharField(
        label=_("导出完整证件号码和手机号的原因"),
        max_length=200,
        min_length=2,
        error_messages={"required": _("请填写导出原因"), "min_length": _("请填写导出原因")},
    )
