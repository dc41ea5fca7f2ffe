"""The supplies API's endpoints as published in the OpenAPI schema: a route added, renamed or lost
shows here."""

from tongxin.config.api import api

SUPPLIES = {
    "/api/v1/supplies/balances": ["get"],
    "/api/v1/supplies/items/{item_id}/moves": ["get"],
    "/api/v1/supplies/moves": ["post"],
    "/api/v1/supplies/donations": ["get", "post"],
    "/api/v1/supplies/donations/{donation_id}/thanked": ["post"],
    "/api/v1/supplies/parcels": ["post"],
    "/api/v1/supplies/parcels/disinfect": ["post"],
    "/api/v1/supplies/parcels/{parcel_id}/deliver": ["post"],
    "/api/v1/supplies/parcels/{parcel_id}/refuse": ["post"],
    "/api/v1/supplies/parcels/ready": ["get"],
    "/api/v1/supplies/requests": ["get", "post"],
    "/api/v1/supplies/requests/{request_id}/accept": ["post"],
    "/api/v1/supplies/requests/{request_id}/bought": ["post"],
    "/api/v1/supplies/requests/{request_id}/deliver": ["post"],
    "/api/v1/supplies/requests/{request_id}/cannot": ["post"],
    "/api/v1/supplies/requests/today": ["get"],
    "/api/v1/supplies/campaigns": ["get", "post"],
    "/api/v1/supplies/campaigns/{campaign_id}/progress": ["get"],
    "/api/v1/supplies/campaigns/{campaign_id}/doors": ["get"],
    "/api/v1/supplies/campaigns/visits/{visit_id}": ["post"],
    "/api/v1/supplies/care": ["get"],
    "/api/v1/supplies/care/overdue": ["get"],
    "/api/v1/supplies/care/visits": ["post"],
}


def test_the_schema_lists_every_supplies_endpoint_without_trailing_slashes():
    paths = api.get_openapi_schema()["paths"]
    published = {path: sorted(ops) for path, ops in paths.items() if path.startswith("/api/v1/supplies/")}
    assert published == SUPPLIES
