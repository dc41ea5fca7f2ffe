"""The platform acting on its own (management commands, loaders): a user object, never saved."""

from tongxin.accounts.models import Role, User


def system_user() -> User:
    """An in-memory platform admin for commands that act as the platform: selectors stay scoped."""
    return User(username="system", role=Role.PLATFORM_ADMIN, is_active=True, is_staff=True, is_superuser=True)
