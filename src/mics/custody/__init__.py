"""ISO 22095 chain of custody: accounts per site, material and characteristic, rule
packs per scheme (data files), a ledger of EPCIS events, and claims that cannot
exceed what the ledger holds."""

from mics.custody.balance import Balance, balance
from mics.custody.ledger import OverClaim, decide, lineage
from mics.custody.model import Account, Allocation, Claim, Entry, Flow
from mics.custody.pack import MODELS, Pack, load, shipped
from mics.custody.period import Period, parse_period

__all__ = [
    "MODELS",
    "Account",
    "Allocation",
    "Balance",
    "Claim",
    "Entry",
    "Flow",
    "OverClaim",
    "Pack",
    "Period",
    "balance",
    "decide",
    "lineage",
    "load",
    "parse_period",
    "shipped",
]
