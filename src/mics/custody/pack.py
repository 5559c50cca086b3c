"""Rule packs: a certification scheme's chain-of-custody rules as a data file.

A pack is a TOML file in ``mics/custody/packs`` (a new scheme is a new file, not
code): ``id``, ``name``, ``version``, ``source``, a list of ``[[rules]]`` (``key``,
``value``, ``source``: every rule names where it comes from) and ``[[labels]]``
(the claim wordings the scheme allows, each from ``min_share`` upwards). The
models are those of ISO 22095:2020 §3.3.1-3.3.5, the mass-balance methods those
of ISO 22095-2 (rolling-average percentage and credit).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from mics.errors import InvalidInput, NotFound

# ISO 22095:2020 §3.3: identity preserved, segregated, controlled blending, mass
# balance (ISO 22095-2: rolling-average percentage or credit method), book and claim.
MODELS = (
    "identity_preserved",
    "segregated",
    "controlled_blending",
    "mass_balance_rolling_average",
    "mass_balance_credit",
    "book_and_claim",
)
# Models whose claims draw on a pool of credits rather than on the physical share of
# the claimed output itself.
CREDIT_MODELS = ("mass_balance_credit", "book_and_claim")
CHARACTERISTICS = ("recycled", "bio_based", "certified_origin")  # free extensions allowed
SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
RULE_KEYS = {
    "models": list,
    "characteristics": list,
    "materials": list,
    "max_period_months": int,
    "stock_tolerance": float,
    "negative_balance": bool,
    "carry_over": bool,
    "cross_product_groups": bool,
    "eligible_categories": list,
    "own_scrap_credit": bool,
    "claim_threshold": float,
}


@dataclass(frozen=True)
class Rule:
    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class Label:
    min_share: float
    text: str
    source: str


@dataclass(frozen=True)
class Pack:
    """One scheme's rules; ``rule(key)`` reads a rule's value, ``cite(key)`` its source."""

    id: str
    name: str
    version: str
    source: str
    rules: tuple[Rule, ...]
    labels: tuple[Label, ...]

    def rule(self, key: str, default: Any = None) -> Any:
        for rule in self.rules:
            if rule.key == key:
                return rule.value
        return default

    def cite(self, key: str) -> str:
        for rule in self.rules:
            if rule.key == key:
                return f"{self.name}: {rule.source}"
        return self.source

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.rule("models", ()))

    @property
    def materials(self) -> tuple[str, ...]:
        return tuple(self.rule("materials", ()))

    def eligible(self, characteristic: str, category: str | None) -> bool:
        """Whether an input of ``category`` may carry ``characteristic`` under this pack."""
        categories: list[str] = self.rule("eligible_categories", [])
        if not categories:
            return True
        if category not in categories:
            return False
        wanted: dict[str, list[str]] = self.rule("category_for", {})
        return category in wanted.get(characteristic, categories)

    def grandfathered_before(self) -> date | None:
        text = self.rule("grandfathered_before")
        return date.fromisoformat(text) if text else None

    def label(self, share: float) -> Label | None:
        """The highest wording the scheme allows for ``share`` (None: no claim allowed)."""
        allowed = [lab for lab in self.labels if share >= lab.min_share - 1e-12]
        return max(allowed, key=lambda lab: lab.min_share) if allowed else None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "rules": [{"key": r.key, "value": r.value, "source": r.source} for r in self.rules],
            "labels": [
                {"minShare": lab.min_share, "text": lab.text, "source": lab.source}
                for lab in self.labels
            ],
        }


def shipped() -> tuple[str, ...]:
    """The ids of the packs MICS ships."""
    folder = resources.files("mics.custody") / "packs"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


@cache
def load(pack_id: str) -> Pack:
    """The shipped pack ``pack_id``; ``NotFound`` names the packs there are."""
    if pack_id not in shipped():
        raise NotFound(
            f"no rule pack {pack_id!r}; MICS ships {', '.join(shipped())}",
            field="scheme",
            value=pack_id,
        )
    text = (resources.files("mics.custody") / "packs" / f"{pack_id}.toml").read_text("utf-8")
    return parse(text, source=f"{pack_id}.toml")


def parse(text: str, *, source: str = "pack") -> Pack:
    """A pack from its TOML text; a rule without a source or of the wrong type is refused."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(str(error), field=source, value=None, expected="TOML") from None
    for key in ("id", "name", "version", "source"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InvalidInput("missing", field=f"{source}: {key}", expected="a non-empty string")
    rules = []
    for n, raw in enumerate(data.get("rules", [])):
        where = f"{source}: rules[{n}]"
        key, value, cited = raw.get("key"), raw.get("value"), raw.get("source")
        if not isinstance(cited, str) or not cited:
            raise InvalidInput("rule without a source", field=where, value=key, expected="source")
        kind = RULE_KEYS.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is not None and not isinstance(value, kind):
            raise InvalidInput("wrong type", field=where, value=value, expected=kind.__name__)
        rules.append(Rule(str(key), value, cited))
    pack = Pack(
        id=data["id"],
        name=data["name"],
        version=data["version"],
        source=data["source"],
        rules=tuple(rules),
        labels=tuple(
            Label(float(lab["min_share"]), str(lab["text"]), str(lab["source"]))
            for lab in data.get("labels", [])
        ),
    )
    unknown = [m for m in pack.models if m not in MODELS]
    if unknown:
        raise InvalidInput(
            "unknown model", field=f"{source}: models", value=unknown, expected=", ".join(MODELS)
        )
    return pack


def check_model(pack: Pack, model: str) -> str:
    if model not in pack.models:
        raise InvalidInput(
            f"{pack.name} does not allow this chain-of-custody model ({pack.cite('models')})",
            field="model",
            value=model,
            expected=", ".join(pack.models),
        )
    return model


def check_characteristic(pack: Pack, characteristic: str) -> str:
    allowed: list[str] = pack.rule("characteristics", list(CHARACTERISTICS))
    if characteristic not in allowed:
        raise InvalidInput(
            f"{pack.name} keeps no account for this characteristic",
            field="characteristic",
            value=characteristic,
            expected=", ".join(allowed),
        )
    return characteristic


def check_material(pack: Pack, material: str) -> str:
    if material not in pack.materials:
        raise InvalidInput(
            f"{pack.name} does not cover this material",
            field="material",
            value=material,
            expected=", ".join(pack.materials),
        )
    return material
