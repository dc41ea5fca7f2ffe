"""Pages of mass testing: the sampling station (a table's scanning page, which keeps working
offline) and its service worker."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tongxin.testing.selectors.station import station_table_get

SERVICE_WORKER = "testing/station-sw.js"
STATION_CACHE = "tongxin-station-v1"


def _strings() -> dict:
    """Every sentence the page's script shows, translated here (the script has no catalog)."""
    return {
        "online": _("在线"),
        "offline": _("离线"),
        "sending": _("上传中"),
        "login_needed": _("登录已过期，请重新登录后继续上传（记录保存在本机）"),
        "pending": _("待上传 %(n)s 条"),
        "last_sync": _("上次同步 %(time)s"),
        "never_synced": _("尚未同步"),
        "to_handle": _("需处理 %(n)s 条"),
        "scan_tube": _("请扫描试管码"),
        "scan_person": _("请扫描身份证、出入证，或输入姓名/房号"),
        "scan_bag": _("请扫描袋码封袋（%(n)s管）"),
        "tube_full_close": _("试管已满，按回车或点“封管”封管"),
        "tube_opened": _("已开管 %(code)s（%(size)s混1）"),
        "tube_closed": _("已封管 %(code)s（%(n)s人）"),
        "tube_used": _("该试管码已在本台使用：%(code)s"),
        "tube_not_closed": _("当前试管未封管：请先封管（按回车或点“封管”）"),
        "tube_empty": _("试管中还没有人，不能封管"),
        "confirm_close": _("试管未满（%(n)s/%(size)s），再按一次回车或点“封管”确认封管"),
        "bag_sealed": _("已封袋 %(code)s（%(n)s管）"),
        "bag_none": _("没有待装袋的试管"),
        "bag_full": _("已满%(n)s管，请扫描袋码封袋"),
        "bag_code_used": _("该码已在本台用作试管码或袋码：%(code)s"),
        "code_too_long": _("码太长（最多%(n)s位）"),
        "not_a_tube": _("这是身份证号，不是试管码"),
        "already_here": _("%(name)s本轮已在本台采样"),
        "already_elsewhere": _("%(name)s本轮已采样：%(table)s"),
        "sampled_at": _("本轮已采：%(table)s"),
        "no_match": _("名单中没有“%(q)s”"),
        "many_matches": _("找到%(n)s人，请点选"),
        "roster_missing": _("名单未下载：姓名搜索暂不可用，可扫描证件"),
        "roster_loaded": _("名单 %(n)s 人"),
        "document": _("身份证 尾号%(tail)s"),
        "pass_code": _("出入证"),
        "state_pending": _("待上传"),
        "state_stored": _("已上传"),
        "state_refused": _("被拒"),
        "dismiss": _("知道了"),
        "age_band": _("%(n)s多岁"),
        "age_child": _("10岁以下"),
        "sampled": _("已采 %(name)s %(room)s"),
        "server_error": _("服务器暂时无法处理，稍后自动重试"),
        "upload_refused": _("服务器拒收"),
    }


@login_required
@require_GET
def station(request, table_id: int):
    table = station_table_get(request.user, table_id)
    roster_url = reverse("api:testing_station_roster", kwargs={"table_id": table.pk})
    config = {
        "table": table.pk,
        "round": table.round_id,
        "label": table.label,
        "pool_size": table.pool_size,
        "bag_size": settings.TONGXIN_BAG_SIZE,
        "pool_prefixes": settings.TONGXIN_TUBE_POOL_PREFIXES,
        "batch": min(500, settings.TONGXIN_SYNC_MAX_BATCH),
        "sync_url": roster_url.rsplit("/", 1)[0] + "/sync",
        "roster_url": roster_url,
        "samples_url": reverse("api:testing_station_samples", kwargs={"table_id": table.pk}),
        "health_url": reverse("healthz"),
        "sw_url": reverse("testing:station_sw"),
        "sw_scope": reverse("testing:station_sw").rsplit("/", 1)[0] + "/",
        "cache": STATION_CACHE,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "csrf_token": get_token(request),
        "strings": _strings(),
    }
    return render(request, "testing/station.html", {"table": table, "config": config})


@require_GET
@cache_control(no_cache=True, max_age=0)
def service_worker(request):
    """The station's service worker, from a URL under /testing/ so that its scope covers the
    station pages (a worker served from /static/ could only control /static/). No login: it holds
    no data, and an expired session must not break its update check."""
    with open(finders.find(SERVICE_WORKER), encoding="utf-8") as source:
        body = source.read()
    body = body.replace("__CACHE__", STATION_CACHE).replace("__STATIC__", static(""))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("testing:station_sw").rsplit("/", 1)[0] + "/"
    return response


urlpatterns = [
    path("tables/<int:table_id>/station/", station, name="station"),
    path("station-sw.js", service_worker, name="station_sw"),
]
