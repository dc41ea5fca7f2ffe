from tongxin.accounts.models import Role
from tongxin.supplies.models import Item, Store


def stock_world(world):
    """A store and items in compound A, a store and an item in compound B."""
    world.store = Store.objects.create(compound=world.compound_a, name="物资站")
    world.depot = Store.objects.create(compound=world.compound_a, name="1号楼临时点")
    world.water = Item.objects.create(
        compound=world.compound_a, name="桶装水", unit="bucket", minimum_stock=10
    )
    world.cabbage = Item.objects.create(compound=world.compound_a, name="白菜", unit="kg", minimum_stock=0)
    world.store_b = Store.objects.create(compound=world.compound_b, name="乙仓库")
    world.water_b = Item.objects.create(compound=world.compound_b, name="桶装水", unit="bucket")
    return world


def user(world, role):
    return world.users[role]


MANAGER, GRID, VOLUNTEER, OFFICIAL, ADMIN, RESIDENT = (
    Role.COMPOUND_MANAGER,
    Role.GRID_WORKER,
    Role.VOLUNTEER,
    Role.OFFICIAL,
    Role.PLATFORM_ADMIN,
    Role.RESIDENT,
)
