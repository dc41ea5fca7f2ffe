"""/supplies/stock/: a compound's stock for those who keep it (managers, grid workers, officials,
admins; volunteers and residents are refused): balances per store in each item's unit, the
low-stock alert, and the forms to add an item or a store, take stock in (purchase), out (to a
household by room, to a team of workers, used) and between stores. /supplies/stock/items/<id>/: one
item's history and balances, its minimum. Both export to Excel (audited).

Each form posts to its own URL; a refusal renders the page again with that form and its messages
(status 400), nothing written; a success redirects back with a message.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice
from tongxin.supplies.actions import catalog, stock
from tongxin.supplies.forms.stock import (
    ItemForm,
    MinimumForm,
    StockInForm,
    StockOutForm,
    StoreForm,
    TransferForm,
    add_action_error,
)
from tongxin.supplies.models import MoveKind
from tongxin.supplies.selectors import stock as selectors
from tongxin.supplies.selectors.scope import require_compound
from tongxin.supplies.units import unit_label

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def keeper_compound(request, target: str):
    """(compound, None) for a stock keeper's chosen compound, or (None, the choice page). A resident
    or a volunteer is refused (403), another compound is not found (404)."""
    user = request.user
    if user.role == Role.RESIDENT:
        raise PermissionDenied(_("居民不能查看物资库存"))
    compound, compounds = compound_choice(request)
    if compound is None:
        return None, render(request, "supplies/choose.html", {"compounds": compounds, "target": target})
    require_compound(user, compound.pk)
    return compound, None


def _forms(user, compound, bound=None):
    """The page's five forms, unbound but for `bound` (name, form) when a post was refused."""
    items, stores = selectors.items_of(user, compound.pk), selectors.stores_of(user, compound.pk)
    forms = {
        "item_form": ItemForm(),
        "store_form": StoreForm(),
        "in_form": StockInForm(items=items, stores=stores),
        "out_form": StockOutForm(items=items, stores=stores, user=user, compound=compound),
        "transfer_form": TransferForm(items=items, stores=stores),
    }
    if bound is not None:
        forms[bound[0]] = bound[1]
    return forms


def _stock_page(request, compound, bound=None, status=200):
    user = request.user
    rows = selectors.balances(user, compound_id=compound.pk)
    low = list(selectors.items_below_minimum(user, compound_id=compound.pk))
    context = {
        "compound": compound,
        "rows": [(row, unit_label(row.unit)) for row in rows],
        "low": [(item, unit_label(item.unit)) for item in low],
        "open_form": bound[0] if bound else "",
        **_forms(user, compound, bound),
    }
    return render(request, "supplies/stock/stock.html", context, status=status)


def _back(compound) -> str:
    return f"{reverse('supplies:stock')}?compound={compound.pk}"


@never_cache  # the rooms served appear in the history it links to; keep the team's pages out of caches
@login_required
def stock_page(request):
    compound, choose = keeper_compound(request, "supplies:stock")
    if compound is None:
        return choose
    return _stock_page(request, compound)


def _post(request, name: str, make_form, act, done):
    """Bind the form, run the action, redirect with `done(result)`; a refusal shows the page again."""
    compound, _choose = keeper_compound(request, "supplies:stock")
    if compound is None:
        raise Http404
    form = make_form(compound)
    if form.is_valid():
        try:
            result = act(compound, form.cleaned_data)
        except ValidationError as error:
            add_action_error(form, error)
        else:
            messages.success(request, done(result))
            return redirect(_back(compound))
    return _stock_page(request, compound, bound=(name, form), status=400)


@login_required
@require_POST
def item_add(request):
    user = request.user
    return _post(
        request,
        "item_form",
        lambda compound: ItemForm(request.POST),
        lambda compound, data: catalog.item_create(
            actor=user,
            compound=compound,
            name=data["name"],
            unit=data["unit"],
            minimum_stock=data["minimum_stock"] or 0,
        ),
        lambda item: _("已添加物资：%(name)s") % {"name": item.name},
    )


@login_required
@require_POST
def store_add(request):
    user = request.user
    return _post(
        request,
        "store_form",
        lambda compound: StoreForm(request.POST),
        lambda compound, data: catalog.store_create(actor=user, compound=compound, name=data["name"]),
        lambda store: _("已添加仓库：%(name)s") % {"name": store.name},
    )


def _catalogue(user, compound):
    return {"items": selectors.items_of(user, compound.pk), "stores": selectors.stores_of(user, compound.pk)}


def _moved(move) -> str:
    return _("已记录：%(kind)s %(item)s %(quantity)s%(unit)s") % {
        "kind": move.get_kind_display(),
        "item": move.item.name,
        "quantity": f"{abs(move.quantity).normalize():f}",
        "unit": unit_label(move.item.unit),
    }


@login_required
@require_POST
def stock_in(request):
    user = request.user
    return _post(
        request,
        "in_form",
        lambda compound: StockInForm(request.POST, **_catalogue(user, compound)),
        lambda compound, data: stock.stock_in(
            actor=user,
            item=data["item"],
            store=data["store"],
            quantity=data["quantity"],
            unit=data["unit"],
            kind=MoveKind.PURCHASE_IN,
            price=data["price"],
            note=data["note"],
        ),
        _moved,
    )


@login_required
@require_POST
def stock_out(request):
    user = request.user
    return _post(
        request,
        "out_form",
        lambda compound: StockOutForm(
            request.POST, user=user, compound=compound, **_catalogue(user, compound)
        ),
        lambda compound, data: stock.stock_out(
            actor=user,
            item=data["item"],
            store=data["store"],
            quantity=data["quantity"],
            unit=data["unit"],
            kind=data["kind"],
            household=data["household"],
            team=data["team"] if data["kind"] == MoveKind.OUT_TEAM else "",
            note=data["note"],
        ),
        _moved,
    )


@login_required
@require_POST
def stock_transfer(request):
    user = request.user
    return _post(
        request,
        "transfer_form",
        lambda compound: TransferForm(request.POST, **_catalogue(user, compound)),
        lambda compound, data: stock.stock_transfer(
            actor=user,
            item=data["item"],
            from_store=data["from_store"],
            to_store=data["to_store"],
            quantity=data["quantity"],
            unit=data["unit"],
            note=data["note"],
        )[0],
        _moved,
    )


def _keeper_item(request, item_id: int):
    if request.user.role == Role.RESIDENT:
        raise PermissionDenied(_("居民不能查看物资库存"))
    item = selectors.item_get(request.user, item_id)
    require_compound(request.user, item.compound_id)
    return item


def _item_page(request, item, minimum_form=None, status=200):
    user = request.user
    page = Paginator(selectors.item_history(user, item_id=item.pk), settings.TONGXIN_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    moves = [(move, selectors.room_of(move.household)) for move in page.object_list]
    balances = selectors.item_balances(user, item_id=item.pk)
    context = {
        "compound": item.compound,
        "item": item,
        "unit": unit_label(item.unit),
        "page": page,
        "moves": moves,
        "balances": balances,
        "total": sum((row.quantity for row in balances), start=Decimal(0)),
        "minimum_form": minimum_form
        or MinimumForm(initial={"minimum_stock": item.minimum_stock.normalize()}),
    }
    return render(request, "supplies/stock/item.html", context, status=status)


@never_cache  # the rooms of the households served
@login_required
def item_page(request, item_id: int):
    return _item_page(request, _keeper_item(request, item_id))


@login_required
@require_POST
def item_minimum(request, item_id: int):
    item = _keeper_item(request, item_id)
    form = MinimumForm(request.POST)
    if form.is_valid():
        try:
            catalog.item_set_minimum(
                actor=request.user, item=item, minimum_stock=form.cleaned_data["minimum_stock"]
            )
        except ValidationError as error:
            add_action_error(form, error)
        else:
            messages.success(
                request,
                _("%(item)s的最低库存已设为%(minimum)s%(unit)s")
                % {
                    "item": item.name,
                    "minimum": f"{item.minimum_stock.normalize():f}",
                    "unit": unit_label(item.unit),
                },
            )
            return redirect("supplies:item", item_id=item.pk)
    return _item_page(request, item, minimum_form=form, status=400)


def _xlsx(content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def balances_xlsx(request):
    compound, choose = keeper_compound(request, "supplies:stock")
    if compound is None:
        return choose
    return _xlsx(*stock.balances_export(actor=request.user, compound=compound, ip=client_ip(request)))


@login_required
def item_xlsx(request, item_id: int):
    item = _keeper_item(request, item_id)
    return _xlsx(*stock.item_history_export(actor=request.user, item=item, ip=client_ip(request)))


urlpatterns = [
    path("stock/", stock_page, name="stock"),
    path("stock/balances.xlsx", balances_xlsx, name="stock_export"),
    path("stock/items/new/", item_add, name="item_add"),
    path("stock/stores/new/", store_add, name="store_add"),
    path("stock/in/", stock_in, name="stock_in"),
    path("stock/out/", stock_out, name="stock_out"),
    path("stock/transfer/", stock_transfer, name="stock_transfer"),
    path("stock/items/<int:item_id>/", item_page, name="item"),
    path("stock/items/<int:item_id>/minimum/", item_minimum, name="item_minimum"),
    path("stock/items/<int:item_id>/moves.xlsx", item_xlsx, name="item_export"),
]
