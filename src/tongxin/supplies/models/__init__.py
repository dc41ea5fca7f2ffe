"""The supplies module's records, one file per part: inventory and donations, the compound's
settings, parcels, requests from sealed and isolated homes, bulk distributions, care visits."""

from tongxin.supplies.models.campaigns import Campaign, CampaignTask, CampaignVisit, ShareBasis, VisitOutcome
from tongxin.supplies.models.care import CareVisit
from tongxin.supplies.models.inventory import (
    MONEY,
    QUANTITY,
    Balance,
    Donation,
    Item,
    MoveKind,
    StockMove,
    StockUnit,
    Store,
)
from tongxin.supplies.models.parcels import Parcel, ParcelState
from tongxin.supplies.models.requests import RequestKind, RequestState, SupplyRequest, SupplyRequestLine
from tongxin.supplies.models.settings import SupplySettings

__all__ = [
    "MONEY",
    "QUANTITY",
    "Balance",
    "Campaign",
    "CampaignTask",
    "CampaignVisit",
    "CareVisit",
    "Donation",
    "Item",
    "MoveKind",
    "Parcel",
    "ParcelState",
    "RequestKind",
    "RequestState",
    "ShareBasis",
    "StockMove",
    "StockUnit",
    "Store",
    "SupplyRequest",
    "SupplyRequestLine",
    "SupplySettings",
    "VisitOutcome",
]
