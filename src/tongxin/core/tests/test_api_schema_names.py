"""The OpenAPI document names each schema by its class name alone: two different schemas of one
name (supplies' RequestIn and the portal's) would leave one of them documented under both. Every
schema class of the API modules has its own name, or the very same fields as its namesake."""

import importlib
import inspect
import pkgutil
from collections import defaultdict

from django.apps import apps
from ninja import Schema


def api_modules():
    for config in apps.get_app_configs():
        if not config.name.startswith("tongxin."):
            continue
        try:
            package = importlib.import_module(f"{config.name}.api")
        except ModuleNotFoundError as error:
            if error.name == f"{config.name}.api":
                continue
            raise
        yield package
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def test_every_api_schema_name_means_one_schema():
    by_name = defaultdict(dict)
    for module in api_modules():
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module.__name__:
                by_name[value.__name__][module.__name__] = value.model_json_schema()["properties"]
    assert len(by_name) > 100  # every module's schemas were found
    clashes = {
        name: sorted(modules)
        for name, modules in by_name.items()
        if len({repr(sorted(fields.items())) for fields in modules.values()}) > 1
    }
    assert clashes == {}


def test_the_document_keeps_both_request_schemas():
    from tongxin.config.api import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    assert {"RequestIn", "PortalRequestIn", "RequestLineIn", "ParcelLineIn"} <= set(schemas)
    assert "kind" in schemas["RequestIn"]["properties"]
    assert "resident" in schemas["PortalRequestIn"]["properties"]
