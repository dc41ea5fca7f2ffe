"""Bulk distributions (the donated cabbage): a campaign planned door by door, and what each door
gave.

Planning writes, in one transaction and with bulk inserts, one visit row per household of the
compound and one task per unit (its day and its team), so that progress is a count. Marking a door
is a conditional update on the outcome (and attempts) the volunteer read: of two volunteers at the
same door at once, one wins and the other is told who marked it and when. A delivery takes the
share out of the campaign's store in the same transaction, so short stock refuses the mark.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.registry.actions import household_verify_occupancy
from tongxin.registry.models import Compound, Household, Resident, Unit
from tongxin.supplies.actions.stock import base_quantity, stock_out
from tongxin.supplies.models import (
    Balance,
    Campaign,
    CampaignTask,
    CampaignVisit,
    Item,
    MoveKind,
    ShareBasis,
    Store,
    VisitOutcome,
)
from tongxin.supplies.selectors.scope import HANDS_OUT, require_compound
from tongxin.supplies.units import MAX_QUANTITY, unit_label

# Who plans a campaign and corrects a door already marked: the compound's cadres and those over them.
CAMPAIGN_MANAGERS = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER})
FINAL = frozenset({VisitOutcome.DELIVERED, VisitOutcome.REFUSED, VisitOutcome.VACANT})
MARKS = (VisitOutcome.DELIVERED, VisitOutcome.NOBODY_HOME, VisitOutcome.REFUSED, VisitOutcome.VACANT)
MAX_DAYS, MAX_TEAMS, MAX_VOLUNTEERS = 60, 500, 10000
ZERO = Decimal(0)


@dataclass(frozen=True)
class Coverage:
    """Whether the campaign's total covers every share: a warning, never a refusal (the report's
    20,000 kg against 753 households × 30 kg; the vacant flats found at the door get nothing)."""

    total: Decimal
    needed: Decimal  # every household's share
    needed_known_occupied: Decimal  # without the households already known to be vacant
    in_stock: Decimal
    unit: str

    @property
    def covers(self) -> bool:
        return self.total >= self.needed

    @property
    def shortfall(self) -> Decimal:
        return max(self.needed - self.total, ZERO)

    @property
    def shares_covered(self) -> bool:
        return self.total >= self.needed_known_occupied

    @property
    def stock_short(self) -> bool:
        return self.in_stock < self.total

    def warnings(self) -> list[str]:
        label = unit_label(self.unit)
        found = []
        if not self.covers:
            found.append(
                _(
                    "总量 %(total)s%(unit)s 不足以覆盖全部 %(needed)s%(unit)s（差 %(short)s%(unit)s），"
                    "上门发现的空置户不发放，余下按上门顺序发完为止"
                )
                % {
                    "total": _number(self.total),
                    "needed": _number(self.needed),
                    "short": _number(self.shortfall),
                    "unit": label,
                }
            )
        if self.stock_short:
            found.append(
                _("仓库现有 %(stock)s%(unit)s，少于计划总量 %(total)s%(unit)s")
                % {"stock": _number(self.in_stock), "total": _number(self.total), "unit": label}
            )
        return found


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def natural_room_key(room: str) -> tuple:
    """ "2-101" before "2-1001", "9" before "10": numbers compared as numbers."""
    key, digits = [], ""
    for char in room:
        if char.isdigit():
            digits += char
            continue
        if digits:
            key.append((0, int(digits), ""))
            digits = ""
        key.append((1, 0, char))
    if digits:
        key.append((0, int(digits), ""))
    return tuple(key)


def split_days(household_counts: list[int], days: int) -> list[int]:
    """The day index of each unit (in building/unit order), contiguous and balanced by households:
    a unit goes to the day where the midpoint of its households falls."""
    total = sum(household_counts)
    if total == 0:
        return [0] * len(household_counts)
    result, before = [], 0
    for count in household_counts:
        middle = before + count / 2
        result.append(min(days - 1, int(middle * days / total)))
        before += count
    return result


def _checked_int(value, *, low: int, high: int) -> int | None:
    """A whole number within [low, high] given as an int or as ASCII digits, else None."""
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _share_quantity(item: Item, quantity, unit: str | None, *, field: str) -> Decimal:
    try:
        return base_quantity(item, quantity, unit)
    except ValidationError as error:
        raise ValidationError({field: error.messages}, code=error.code) from None


def campaign_create(
    *,
    actor,
    compound: Compound,
    name: str,
    item: Item,
    store: Store,
    total_quantity,
    unit: str | None = None,
    share_basis: str = ShareBasis.HOUSEHOLD,
    share_quantity,
    share_unit: str | None = None,
    starts_on: datetime.date,
    days: int,
    teams: int,
    volunteers: int = 0,
) -> Campaign:
    """Plan a campaign: one visit row per household of the compound (its share: per household, or
    per person × its residents not moved out; households known vacant are listed too, the door
    decides), one task per unit with households, the units split across the days in building/unit
    order balanced by households, and round-robin across the teams within each day.

    Quantities are converted to the item's unit (60 斤 = 30 公斤). The returned campaign carries
    `coverage`: whether the total covers every share (a warning, not a refusal)."""
    require_compound(actor, compound.pk, roles=CAMPAIGN_MANAGERS)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("请填写发放名称")]
    elif len(name) > 100:
        errors["name"] = [_("名称最多 100 个字")]
    if item.compound_id != compound.pk or store.compound_id != compound.pk:
        errors["item"] = [_("仓库与物资不属于同一小区")]
    if share_basis not in ShareBasis.values:
        errors["share_basis"] = [_("分配方式无效")]
    total = share = None
    try:
        total = _share_quantity(item, total_quantity, unit, field="total_quantity")
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        share = _share_quantity(item, share_quantity, share_unit, field="share_quantity")
    except ValidationError as error:
        errors.update(error.message_dict)
    days = _checked_int(days, low=1, high=MAX_DAYS)
    if days is None:
        errors["days"] = [_("天数须在 1 到 %(n)s 之间") % {"n": MAX_DAYS}]
    teams = _checked_int(teams, low=1, high=MAX_TEAMS)
    if teams is None:
        errors["teams"] = [_("小组数须在 1 到 %(n)s 之间") % {"n": MAX_TEAMS}]
    volunteers = _checked_int(volunteers, low=0, high=MAX_VOLUNTEERS)
    if volunteers is None:
        errors["volunteers"] = [_("志愿者人数须在 0 到 %(n)s 之间") % {"n": MAX_VOLUNTEERS}]
    if not isinstance(starts_on, datetime.date) or isinstance(starts_on, datetime.datetime):
        errors["starts_on"] = [_("开始日期无效")]
    elif abs((starts_on - timezone.localdate()).days) > 366:
        errors["starts_on"] = [_("开始日期须在一年之内")]
    if teams and volunteers and volunteers < teams:
        errors["volunteers"] = [_("志愿者人数少于小组数")]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():  # the households read are the households planned
        households = list(
            Household.objects.filter(compound=compound)
            .annotate(
                people=Count("residents", filter=~Q(residents__presence=Resident.Presence.MOVED_OUT)),
            )
            .values_list("pk", "unit_id", "building_id", "occupancy", "people")
        )
        if not households:
            raise ValidationError(_("该小区没有登记住户，无法发放"), code="no_households")
        units = list(
            Unit.objects.filter(compound=compound)
            .order_by("building__sort_key", "building__number", "sort_key", "number")
            .values_list("pk", flat=True)
        )
        per_unit: dict[int, int] = {}
        for _pk, unit_id, *_rest in households:
            per_unit[unit_id] = per_unit.get(unit_id, 0) + 1
        planned_units = [unit_id for unit_id in units if per_unit.get(unit_id)]
        day_of = split_days([per_unit[unit_id] for unit_id in planned_units], days)

        def share_of(people: int) -> Decimal:
            return share if share_basis == ShareBasis.HOUSEHOLD else share * people

        largest = max(share_of(people) for *_rest, people in households)
        if largest > MAX_QUANTITY:
            raise ValidationError(
                {"share_quantity": _("单户应发数量超过上限 1,000,000")}, code="share_too_large"
            )
        needed = sum((share_of(people) for *_rest, people in households), ZERO)
        needed_occupied = sum(
            (
                share_of(people)
                for *_rest, occupancy, people in households
                if occupancy != Household.Occupancy.VACANT
            ),
            ZERO,
        )
        campaign = Campaign.objects.create(
            compound=compound,
            name=name,
            item=item,
            store=store,
            total_quantity=total,
            share_basis=share_basis,
            share_quantity=share,
            starts_on=starts_on,
            days=days,
            teams=teams,
            volunteers=volunteers,
            created_by=actor,
        )
        position_in_day = [0] * days
        tasks = []
        for unit_id, day in zip(planned_units, day_of, strict=True):
            tasks.append(
                CampaignTask(
                    campaign=campaign,
                    unit_id=unit_id,
                    day=starts_on + datetime.timedelta(days=day),
                    team=position_in_day[day] % teams + 1,
                )
            )
            position_in_day[day] += 1
        CampaignTask.objects.bulk_create(tasks, batch_size=500)
        CampaignVisit.objects.bulk_create(
            [
                CampaignVisit(
                    campaign=campaign,
                    household_id=pk,
                    unit_id=unit_id,
                    building_id=building_id,
                    share=share_of(people),
                )
                for pk, unit_id, building_id, _occupancy, people in households
            ],
            batch_size=500,
        )
        in_stock = (
            Balance.objects.filter(item=item, store=store).values_list("quantity", flat=True).first() or ZERO
        )
        campaign.coverage = Coverage(
            total=total,
            needed=needed,
            needed_known_occupied=needed_occupied,
            in_stock=in_stock,
            unit=item.unit,
        )
        audit(
            actor=actor,
            action="create",
            obj=campaign,
            detail={
                "households": len(households),
                "units": len(tasks),
                "total": f"{total:f}",
                "needed": f"{needed:f}",
                "covers": campaign.coverage.covers,
            },
        )
    return campaign


def _already_marked(visit: CampaignVisit) -> ValidationError:
    fresh = CampaignVisit.objects.select_related("visited_by").get(pk=visit.pk)
    who = (fresh.visited_by.get_full_name() or fresh.visited_by.username) if fresh.visited_by else _("他人")
    when = date_format(timezone.localtime(fresh.visited_at), "Y-m-d H:i") if fresh.visited_at else _("刚才")
    return ValidationError(
        _("该户已由%(who)s于 %(when)s 标记为“%(outcome)s”，请刷新后再看")
        % {"who": who, "when": when, "outcome": fresh.get_outcome_display()},
        code="already_marked",
    )


def campaign_visit_record(
    *,
    actor,
    visit: CampaignVisit,
    outcome: str,
    note: str = "",
    expected_outcome: str | None = None,
    at: datetime.datetime | None = None,
) -> CampaignVisit:
    """Mark what was found at a door. Delivered: the share leaves the campaign's store for the
    household and the household is occupied; nobody home: one more attempt, the door stays on the
    come-back list; refused: occupied; vacant: the flat is vacant and its residents away.

    `visit` is the row as the volunteer read it (`expected_outcome`, when given, is the outcome
    their page showed): the update applies only if the door still is as they saw it. A door with a
    final outcome (delivered, refused, vacant) is not marked again, except that a cadre may correct
    a refused or vacant door; a delivered door is never changed here, its share has left the store
    (a return would be a stock move of its own). `at` (default now, never ahead) is when the door
    was visited, for a round recorded after it."""
    campaign = visit.campaign
    require_compound(actor, campaign.compound_id, roles=HANDS_OUT)
    if not Household.objects.filter(scope_q(actor, "household"), pk=visit.household_id).exists():
        raise Http404
    if outcome not in MARKS:
        raise ValidationError({"outcome": _("上门结果无效")}, code="invalid_outcome")
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": _("备注最多 200 个字")}, code="note_too_long")
    if campaign.closed_at is not None:
        raise ValidationError(_("该发放已结束"), code="closed")
    if expected_outcome is not None and expected_outcome != visit.outcome:
        raise _already_marked(visit)
    read = visit.outcome
    if read in FINAL:
        if read == VisitOutcome.DELIVERED:
            if actor.role in CAMPAIGN_MANAGERS:
                raise ValidationError(
                    _("该户已送达，物资已出库，不能更改结果；如需退回请另做入库"), code="delivered_final"
                )
            raise _already_marked(visit)
        if actor.role not in CAMPAIGN_MANAGERS:
            raise _already_marked(visit)
    now = timezone.now()
    if at is not None:
        if at > now:
            raise ValidationError({"at": _("上门时间不能晚于现在")}, code="future")
        now = at
    quantity = visit.share if outcome == VisitOutcome.DELIVERED else None
    with transaction.atomic():
        updated = CampaignVisit.objects.filter(pk=visit.pk, outcome=read, attempts=visit.attempts).update(
            outcome=outcome,
            quantity=quantity,
            attempts=F("attempts") + 1,
            visited_at=now,
            visited_by=actor,
            note=note,
        )
        if not updated:
            raise _already_marked(visit)
        household = Household.objects.get(pk=visit.household_id)
        if outcome == VisitOutcome.DELIVERED and quantity:
            stock_out(
                actor=actor,
                item=campaign.item,
                store=campaign.store,
                quantity=quantity,
                kind=MoveKind.OUT_HOUSEHOLD,
                household=household,
                at=now,
                note=campaign.name,
            )
            # Under the balance's lock (every delivery of the campaign takes it): what the doors
            # were given may not pass the campaign's planned total ("发完为止").
            given = CampaignVisit.objects.filter(campaign=campaign).aggregate(given=Sum("quantity"))["given"]
            if given > campaign.total_quantity:
                raise ValidationError(
                    _("本次发放总量 %(total)s%(unit)s 已发完")
                    % {
                        "total": f"{campaign.total_quantity.normalize():f}",
                        "unit": unit_label(campaign.item.unit),
                    },
                    code="campaign_total_reached",
                )
        if outcome != VisitOutcome.NOBODY_HOME:
            household_verify_occupancy(
                actor=actor,
                household=household,
                occupancy=(
                    Household.Occupancy.VACANT
                    if outcome == VisitOutcome.VACANT
                    else Household.Occupancy.OCCUPIED
                ),
                on=timezone.localdate(now),
            )
        visit.refresh_from_db()
        audit(
            actor=actor,
            action="update",
            obj=visit,
            label=f"{campaign.name} {household}",
            fields="outcome",
            detail={"campaign": campaign.pk, "outcome": outcome, "from": read, "attempts": visit.attempts},
        )
    return visit


def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    """End a campaign: its doors are no longer marked."""
    require_compound(actor, campaign.compound_id, roles=CAMPAIGN_MANAGERS)
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, closed_at__isnull=True).update(
            closed_at=timezone.now()
        ):
            raise ValidationError(_("该发放已结束"), code="closed")
        campaign.refresh_from_db()
        audit(actor=actor, action="update", obj=campaign, fields="closed_at")
    return campaign


def campaign_doors_export(*, actor, campaign: Campaign, day: datetime.date, team: int, ip: str | None = None):
    """A team's day as .xlsx (bytes, file name): rooms and outcomes the volunteers print; audited."""
    from tongxin.supplies import campaigns_export
    from tongxin.supplies.selectors.campaigns import door_list

    require_compound(actor, campaign.compound_id, roles=HANDS_OUT)
    rows = door_list(actor, campaign, day=day, team=team)
    content = campaigns_export.write_doors(rows, campaign=campaign, day=day, team=team)
    audit(
        actor=actor,
        action="export",
        obj=campaign,
        fields="campaign_doors",
        detail={"day": day.isoformat(), "team": team, "rows": len(rows)},
        ip=ip,
    )
    return content, campaigns_export.file_name(campaign, day, team)
