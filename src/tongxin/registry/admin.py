from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit


class PlaceAdmin(admin.ModelAdmin):
    """Records below a place carry copies of where it is (area path, compound, building) for scoping.

    Moving a place here would leave those copies behind, and its people visible to the wrong area:
    once created, the fields in `place_fields` are read-only (residents move through the actions).
    """

    place_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + self.place_fields if obj is not None else fields


@admin.register(Area)
class AreaAdmin(PlaceAdmin):
    list_display = ("name", "level", "code", "parent")
    list_filter = ("level",)
    search_fields = ("name", "code")
    place_fields = ("code", "parent")


@admin.register(Compound)
class CompoundAdmin(PlaceAdmin):
    list_display = ("name", "code", "community")
    search_fields = ("name", "code")
    autocomplete_fields = ("community",)
    place_fields = ("community",)


@admin.register(Building)
class BuildingAdmin(PlaceAdmin):
    list_display = ("__str__", "compound", "floors")
    list_filter = ("compound",)
    search_fields = ("number", "compound__name")
    place_fields = ("compound",)


@admin.register(Unit)
class UnitAdmin(PlaceAdmin):
    list_display = ("__str__", "compound")
    list_select_related = ("building", "compound")
    search_fields = ("number", "building__number")
    autocomplete_fields = ("building",)
    place_fields = ("building",)


@admin.register(Household)
class HouseholdAdmin(PlaceAdmin):
    list_display = ("__str__", "compound")
    list_select_related = ("unit__building", "compound")
    search_fields = ("room",)
    autocomplete_fields = ("unit",)
    place_fields = ("unit",)


@admin.register(Resident)
class ResidentAdmin(PlaceAdmin):
    """Back-office corrections. ID numbers and phones stay masked here; reveals go through the audited page.

    The birth date is not shown (with the masked number it is the full number), and residents are
    registered by the import or the actions, which check and encrypt the document.
    """

    list_display = ("name", "document_masked", "phone_masked", "household", "presence")
    list_select_related = ("household__unit__building",)
    list_filter = ("presence", "mobility", "lives_alone", "veteran")
    search_fields = ("name",)
    autocomplete_fields = ("household",)
    readonly_fields = ("document_masked", "phone_masked", "age", "sex", "unit", "building", "compound")
    exclude = ("document_cipher", "document_hash", "phone_cipher", "phone_hash", "birth_date")
    place_fields = ("household",)

    @admin.display(description=_("年龄"))
    def age(self, obj):
        return obj.age()

    def has_add_permission(self, request):
        return False
