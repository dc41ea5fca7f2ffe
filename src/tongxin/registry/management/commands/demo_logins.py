"""`tongxin demo-logins`: the URL and the demo logins, as printed by `make run` before serving."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from tongxin.accounts.models import User
from tongxin.registry.demo import ACCOUNTS, account_scope, demo_password


class Command(BaseCommand):
    help = "Print the local URL and the demo logins (username, role, scope, password)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options):
        users = {
            u.username: u
            for u in User.objects.filter(username__in=[a.username for a in ACCOUNTS]).select_related(
                "area", "compound", "household__unit__building"
            )
        }
        self.stdout.write(f"同心 Tongxin: {options['url']}")
        if not users:
            self.stdout.write(_("没有演示账号：请先运行 tongxin demo"))
            return
        password = demo_password()
        rows = [(_("账号"), _("角色"), _("范围"), _("密码"))]
        for account in ACCOUNTS:
            user = users.get(account.username)
            if user is not None:
                rows.append((user.username, str(user.get_role_display()), account_scope(user), password))
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            line = "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
