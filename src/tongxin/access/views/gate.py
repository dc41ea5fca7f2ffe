"""The gate page (卡口) and its service worker: a volunteer's phone at a compound's gate, which keeps
deciding with no network.

Online vs offline. The page keeps the gate's snapshot (public key, revocations, live passes, the
residents' statuses, the households' exits and open outings) in IndexedDB and can decide every
check itself with `decide` in static/access/gate.js, the same steps as `access.verdict.decide`.
Still, while the server answers, a pass or a person picked by room/name is checked by the server
(POST .../check), for three reasons:
- the server sees every gate of the compound: a household's exits through the north gate count
  against its quota at the south gate, and someone out past their time through one gate stops
  their household at another; a device only knows its own gate since its last snapshot;
- a pass revoked, a status turned red or a household sealed a minute ago is refused at once,
  not after the next snapshot (up to TONGXIN_GATE_SNAPSHOT_MINUTES later);
- an ID number can only be checked there (the device never holds ID numbers).
The check is given a short budget (`check_ms`): when the server does not answer in time, or
is down, the device decides from its snapshot at once, queues the event (the same id, so if
the server did record it the sync stores nothing twice) and keeps deciding locally until the
server answers again (for a minute after a slow answer), so a volunteer never waits on a slow
network at every check. Visitors and returning residents are decided on the device in any case
(their verdict is the health code colour seen at the gate and needs no server data) and go
through the same queue, which is sent at once when online. Every event, decided by the server
or the device, is kept in IndexedDB with its id and updates the device's copy of the household
exits and outings, so quota and over-time keep working when the network goes.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tongxin.access import verdict
from tongxin.access.selectors.gates import gate_get

SERVICE_WORKER = "access/gate-sw.js"
GATE_CACHE = "tongxin-gate-v1"
CHECK_MS = 2500  # the server's budget for one check before the device decides itself
# Kept by the page for a reload with no network (the worker also keeps what it serves).
OFFLINE_ASSETS = (
    "access/gate.css",
    "access/gate.js",
    "access/gate-ed25519.js",
    "access/vendor/noble-ed25519/index.js",
    "access/vendor/noble-hashes/sha2.js",
    "access/vendor/noble-hashes/_md.js",
    "access/vendor/noble-hashes/_u64.js",
    "access/vendor/noble-hashes/utils.js",
)


def _strings() -> dict:
    """Every sentence the page's script shows, translated here (the script has no catalog)."""
    return {
        "online": _("在线"),
        "offline": _("离线"),
        "sending": _("上传中"),
        "login_needed": _("登录已过期，请重新登录后继续上传（记录保存在本机）"),
        "server_error": _("服务器暂时无法处理，稍后自动重试"),
        "pending": _("待上传 %(n)s 条"),
        "last_sync": _("上次同步 %(time)s"),
        "never_synced": _("尚未同步"),
        "to_handle": _("需处理 %(n)s 条"),
        "snapshot_age": _("名单更新于 %(time)s，%(ago)s"),
        "just_now": _("刚刚"),
        "minutes_ago": _("%(n)s分钟前"),
        "hours_ago": _("%(n)s小时前"),
        "days_ago": _("%(n)s天前"),
        "snapshot_missing": _("名单未下载：联网后自动下载"),
        "snapshot_loading": _("正在下载名单…"),
        "snapshot_people": _("名单 %(n)s 人"),
        "date_time": _("%(month)s月%(day)s日 %(time)s"),
        "allowed": _("放行"),
        "stopped": _("禁止通行"),
        "dir_in": _("进"),
        "dir_out": _("出"),
        "going_in": _("进入"),
        "going_out": pgettext("gate direction", "外出"),
        "back_by": _("请于 %(time)s 前返回"),
        "late": _("超时 %(n)s 分钟"),
        "decided_here": _("离线判定"),
        "decided_server": _("服务器核验"),
        "pick_person": _("找到%(n)s人，请点选本人"),
        "no_match": _("名单中没有“%(q)s”"),
        "document_offline": _("离线时不能按身份证号核验：请扫出入证，或输入房号/姓名"),
        "document_failed": _("身份证号核验失败，请稍后重试或输入房号/姓名"),
        "unreadable": _("无法识别的码"),
        "no_snapshot": _("名单未下载，本机无法核验：请联网后重试"),
        "emergency_on": _("紧急就医：请扫码、输入房号/姓名，或点“身份不明，直接放行”"),
        "emergency_anonymous": _("身份不明"),
        "camera_failed": _("无法打开摄像头：%(error)s"),
        "camera_hint": _("将二维码对准取景框"),
        "visitor_saved": _("已登记 %(name)s"),
        "visitor": _("访客"),
        "returning": _("返回居民"),
        "need_name": _("请填写姓名"),
        "need_phone": _("请填写正确的手机号"),
        "need_color": _("请选择健康码颜色"),
        "need_room": _("请填写被访住户的房号，如 3-2-301"),
        "unknown_room": _("名单中没有房号“%(room)s”"),
        "need_resident": _("请点选返回的本户居民"),
        "state_pending": _("待上传"),
        "state_stored": _("已上传"),
        "state_refused": _("被拒"),
        "dismiss": _("知道了"),
        "upload_refused": _("服务器拒收"),
        "nobody": _("—"),
    }


def _reasons() -> dict:
    """The gate's reason words by code (verdict.REASONS), in the reader's language; `no_test`
    keeps its %(hours)d for the page to fill from the snapshot's policy."""
    return {code: str(text) for code, text in verdict.REASONS.items()}


@login_required
@require_GET
def gate_page(request, gate_id: int):
    gate = gate_get(request.user, gate_id)
    snapshot_url = reverse("api:access_gate_snapshot", kwargs={"gate_id": gate.pk})
    api = snapshot_url.rsplit("/", 1)[0] + "/"
    config = {
        "gate": gate.pk,
        "name": gate.name,
        "compound": gate.compound_id,
        "compound_name": gate.compound.name,
        "snapshot_url": snapshot_url,
        "check_url": api + "check",
        "sync_url": api + "sync",
        "health_url": reverse("healthz"),
        "snapshot_minutes": settings.TONGXIN_GATE_SNAPSHOT_MINUTES,
        "batch": min(500, settings.TONGXIN_GATE_SYNC_MAX_BATCH),
        "check_ms": CHECK_MS,
        "fallback_url": static("access/gate-ed25519.js"),
        "offline_assets": [static(name) for name in OFFLINE_ASSETS],
        "sw_url": reverse("access:gate_sw"),
        "sw_scope": reverse("access:gate_sw").rsplit("/", 1)[0] + "/",
        "cache": GATE_CACHE,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "csrf_token": get_token(request),
        "strings": _strings(),
        "reasons": _reasons(),
    }
    return render(request, "access/gate.html", {"gate": gate, "config": config})


@require_GET
@cache_control(no_cache=True, max_age=0)
def service_worker(request):
    """The gate's service worker, from a URL under /access/ so that its scope covers the gate
    pages (a worker served from /static/ could only control /static/). No login: it holds no
    data, and an expired session must not break its update check."""
    with open(finders.find(SERVICE_WORKER), encoding="utf-8") as source:
        body = source.read()
    body = body.replace("__CACHE__", GATE_CACHE).replace("__STATIC__", static(""))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("access:gate_sw").rsplit("/", 1)[0] + "/"
    return response


urlpatterns = [
    path("gates/<int:gate_id>/", gate_page, name="gate"),
    path("gate-sw.js", service_worker, name="gate_sw"),
]
