"""Writing audit rows. Called from actions, inside their transaction, never from views."""

from typing import Any

from django.db import models

from tongxin.core.models import AuditLog


def audit(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    label: str = "",
    fields: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        label = label or str(obj)
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=label[:200],
        fields=fields[:200],
        reason=reason[:500],
        detail=detail or {},
        ip=ip,
    )


def client_ip(request) -> str | None:
    """The client's address; behind a proxy set NUM_PROXIES so REMOTE_ADDR is the proxy's peer."""
    from django.conf import settings

    proxies = getattr(settings, "NUM_PROXIES", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
