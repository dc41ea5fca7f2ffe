"""Two workers answering one common question at the same moment: one answer is recorded on every
request, the other worker is told who answered first."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tongxin.accounts.models import Role
from tongxin.voice.actions.groups import group_answer, groups_suggest
from tongxin.voice.models import Answer, Channel, QuestionGroup, Request, State


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads",
)
@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_one_wins(world):
    for text in ("什么时候解封", "小区啥时候能解封啊", "请问几号解封？"):
        Request.objects.create(compound=world.compound_a, channel=Channel.GROUP, text=text)
    (group,) = groups_suggest(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_a)
    barrier = threading.Barrier(2)
    results = []

    def answer(role, text):
        try:
            barrier.wait(timeout=5)
            group_answer(actor=world.users[role], group=QuestionGroup.objects.get(pk=group.pk), text=text)
            results.append("ok")
        except ValidationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=answer, args=(Role.COMPOUND_MANAGER, "下周一解封")),
        threading.Thread(target=answer, args=(Role.VOLUNTEER, "等通知")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["group_answer_stale", "ok"]
    texts = set(Answer.objects.values_list("text", flat=True))
    assert len(texts) == 1 and Answer.objects.count() == 3
    assert set(Request.objects.values_list("state", flat=True)) == {State.ANSWERED}
