"""What the supplies demo's parts share: the compounds, the acting cadre, the store and catalogue."""

from tongxin.accounts.models import User
from tongxin.registry.models import Compound
from tongxin.supplies.actions.catalog import item_create, store_create
from tongxin.supplies.models import Item, Store

MEITIAN, DINGXIANG = "MTGJ", "DXY"
STORE = "物资站"
# name: (unit, minimum stock)
CATALOGUE = {
    MEITIAN: {
        "桶装水": ("bucket", 40),  # 20-litre buckets
        "大米": ("bag", 20),
        "面粉": ("bag", 20),
        "蔬菜包": ("bag", 10),
        "酒精": ("bottle", 20),
        "防护服": ("piece", 20),
        "军大衣": ("piece", 0),
        "充电宝": ("piece", 0),
        "牛奶": ("box", 5),
        "食用油": ("bottle", 5),
    },
    DINGXIANG: {
        "白菜": ("kg", 0),
        "桶装水": ("bucket", 40),
        "大米": ("bag", 20),
        "面粉": ("bag", 20),
    },
}


def compound(code: str) -> Compound:
    return Compound.objects.get(code=code)


def manager(code: str) -> User:
    """The compound's cadre in charge (the demo's manager login)."""
    return (
        User.objects.filter(role="compound_manager", compound__code=code, is_active=True)
        .order_by("pk")
        .first()
    )


def store(code: str) -> Store:
    place = compound(code)
    found = Store.objects.filter(compound=place, name=STORE).first()
    return found or store_create(actor=manager(code), compound=place, name=STORE)


def item(code: str, name: str) -> Item:
    place = compound(code)
    found = Item.objects.filter(compound=place, name=name).first()
    if found:
        return found
    unit, minimum = CATALOGUE[code][name]
    return item_create(actor=manager(code), compound=place, name=name, unit=unit, minimum_stock=minimum)
