"""Forms of the outbreak pages, one module per topic (parsing only; the actions check every rule)."""

from tongxin.outbreak.forms.areas import (
    CompoundStatusForm,
    LiftForm,
    LowerForm,
    RaiseForm,
    ScreeningForm,
    first_error,
)
from tongxin.outbreak.forms.cases import (
    BecameCaseForm,
    CaseForm,
    CaseOutcomeForm,
    CaseTransferForm,
    CheckinForm,
    ContactForm,
    DateInput,
    DateTimeInput,
    IsolationForm,
    PersonForm,
    ReleaseForm,
    TransferForm,
)

__all__ = [
    "BecameCaseForm",
    "CaseForm",
    "CaseOutcomeForm",
    "CaseTransferForm",
    "CheckinForm",
    "CompoundStatusForm",
    "ContactForm",
    "DateInput",
    "DateTimeInput",
    "IsolationForm",
    "LiftForm",
    "LowerForm",
    "PersonForm",
    "RaiseForm",
    "ReleaseForm",
    "ScreeningForm",
    "TransferForm",
    "first_error",
]
