from django.contrib import admin

from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "code", "parent")
    list_filter = ("level",)
    search_fields = ("name", "code")


@admin.register(Compound)
class CompoundAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "community")
    search_fields = ("name", "code")
    autocomplete_fields = ("community",)


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("__str__", "compound", "floors")
    list_filter = ("compound",)
    search_fields = ("number", "compound__name")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("__str__", "compound")
    list_select_related = ("building", "compound")
    search_fields = ("number", "building__number")
    autocomplete_fields = ("building",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("__str__", "compound")
    list_select_related = ("unit__building", "compound")
    search_fields = ("room",)
    autocomplete_fields = ("unit",)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    """Back-office corrections. ID numbers and phones stay masked here; reveals go through the audited page."""

    list_display = ("name", "document_masked", "phone_masked", "household", "presence")
    list_select_related = ("household__unit__building",)
    list_filter = ("presence", "mobility", "lives_alone", "veteran")
    search_fields = ("name",)
    autocomplete_fields = ("household",)
    readonly_fields = ("document_masked", "phone_masked", "birth_date", "sex", "unit", "building", "compound")
    exclude = ("document_cipher", "document_hash", "phone_cipher", "phone_hash")
