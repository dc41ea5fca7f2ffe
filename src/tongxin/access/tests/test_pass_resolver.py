"""A sampling table reads an entry pass to find the person: the access module resolves the code
for the registry (register_person_code_resolver), so testing never imports access."""

import datetime

import pytest
from django.utils import timezone

from tongxin.access import signing
from tongxin.access.models import Pass
from tongxin.access.selectors.passes import resident_ids_by_pass_codes, room_label
from tongxin.accounts.models import Role
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Sample
from tongxin.testing.tests.round_helpers import event, make_round, sample

pytestmark = pytest.mark.django_db


def live_pass(resident, *, number="ABCDEFGH23", days=30, household=False) -> tuple[Pass, str]:
    home = resident.household
    now = timezone.now()
    issued = Pass.objects.create(
        number=number,
        compound_id=resident.compound_id,
        household=home,
        resident=None if household else resident,
        issued_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    code = signing.sign_pass(
        number=number, compound_id=resident.compound_id, room=room_label(home), expires_at=issued.expires_at
    )
    return issued, code


def test_a_sampling_table_finds_the_person_by_their_pass(world):
    round_ = make_round(world)
    _pass, code = live_pass(world.elder)
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[event("tube_open", tube="T1"), event("sample", tube="T1", person={"code": code})],
    )
    assert answer.refused == []
    assert list(Sample.objects.values_list("resident_id", flat=True)) == [world.elder.pk]


def test_revoked_expired_forged_and_household_passes_find_nobody(world):
    revoked, revoked_code = live_pass(world.elder, number="REVOKED234")
    revoked.revoked_at = timezone.now()
    revoked.save()
    _expired, expired_code = live_pass(world.child, number="EXPIRED234", days=-1)
    _home, home_code = live_pass(world.neighbour, number="HOUSEHOLD2", household=True)
    _good, good_code = live_pass(world.neighbour, number="GOODPASS23")
    payload = good_code.split(".")[1]
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    forged = good_code.replace(payload, flipped)
    found = resident_ids_by_pass_codes([revoked_code, expired_code, home_code, forged, "TX1.x.y", good_code])
    assert found == {good_code: world.neighbour.pk}


def test_a_refused_pass_code_is_answered_unknown_person_at_the_table(world):
    round_ = make_round(world)
    revoked, code = live_pass(world.elder)
    revoked.revoked_at = timezone.now()
    revoked.save()
    scan = sample("T1", world.elder)
    scan["person"] = {"code": code}
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER], table=round_.table1, events=[event("tube_open", tube="T1"), scan]
    )
    assert [(r["id"], r["code"]) for r in answer.refused] == [(scan["id"], "unknown_person")]
    assert Sample.objects.count() == 0
