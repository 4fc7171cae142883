"""marshmallow schemas for a network's files; unknown fields are rejected (RAISE)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, \
    validates_schema

from domain.network.config import (
    Duration,
    EscalationLevel,
    LeadRule,
    NeedCategory,
    ResponsibilityRule,
    SelfHelp,
)
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES, RESIDENCE_STATUSES, URGENCIES

NEED_CODE = re.compile(r"^[a-z]+(\.[a-z]+)?$")
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
# Bundesländer by their ISO 3166-2:DE codes, as the holiday library names them.
STATES = ("BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN",
          "ST", "TH")
RECIPIENTS = ("receiving_inbox", "receiving_supervisor", "sending_caseworker",
              "sending_supervisor", "coordination_office")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class NetworkSchema(Strict):
    slug = fields.String(required=True, validate=validate.Regexp(KEY))
    name = fields.String(required=True, validate=validate.Length(min=1))
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    case_reference_prefix = fields.String(required=True,
                                          validate=validate.Regexp(r"^[A-Z]{1,4}$"))
    districts = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                            validate=validate.Length(min=1))
    coordination_office = fields.String(required=True, validate=validate.Regexp(KEY))
    languages = fields.List(fields.String(validate=validate.Length(min=1)),
                            load_default=list)
    # How long a closed case is kept before its erasure is due (GDPR Art. 5(1)(e)).
    retention_months = fields.Integer(load_default=36, validate=validate.Range(min=1, max=360))
    # The longest a consent may run from the day it is given; "until 2099" is a typing slip.
    consent_max_months = fields.Integer(load_default=24, validate=validate.Range(min=1, max=120))
    # district → the districts next to it (wohnortnahe Verteilung); either side may name
    # a pair, the relation is symmetric.
    neighbours = fields.Dict(keys=fields.String(validate=validate.Length(min=1)),
                             values=fields.List(fields.String(validate=validate.Length(min=1))),
                             load_default=dict)
    legal_sphere_by_residence_status = fields.Dict(
        keys=fields.String(validate=validate.OneOf(RESIDENCE_STATUSES)),
        values=fields.String(validate=validate.OneOf(LEGAL_SPHERES)), required=True)

    @validates_schema
    def neighbours_are_districts(self, data: dict[str, Any], **_: Any) -> None:
        districts = set(data.get("districts", []))
        for district, next_to in data.get("neighbours", {}).items():
            if district not in districts:
                raise ValidationError(f"{district!r} is not one of the districts.",
                                      f"neighbours.{district}")
            for index, other in enumerate(next_to):
                if other not in districts:
                    raise ValidationError(f"{other!r} is not one of the districts.",
                                          f"neighbours.{district}.{index}")
                if other == district:
                    raise ValidationError("A district is not its own neighbour.",
                                          f"neighbours.{district}.{index}")

    @validates_schema
    def every_status_mapped(self, data: dict[str, Any], **_: Any) -> None:
        missing = [s for s in RESIDENCE_STATUSES
                   if s not in data.get("legal_sphere_by_residence_status", {})]
        if missing:
            raise ValidationError(f"No legal sphere for residence status {missing[0]!r}.",
                                  "legal_sphere_by_residence_status")


class NeedSchema(Strict):
    code = fields.String(required=True, validate=validate.Regexp(NEED_CODE))
    label_de = fields.String(required=True, validate=validate.Length(min=1))
    label_en = fields.String(required=True, validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NeedCategory:
        return NeedCategory(**data)


class NeedCatalogueSchema(Strict):
    need = fields.List(fields.Nested(NeedSchema), required=True,
                       validate=validate.Length(min=1))

    @validates_schema
    def codes_unique(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[str] = set()
        for index, need in enumerate(data.get("need", [])):
            if need.code in seen:
                raise ValidationError({"need": {index: {"code": [
                    f"Need {need.code!r} is listed twice."]}}})
            seen.add(need.code)


class RuleSchema(Strict):
    need = fields.String(required=True)
    organisations = fields.List(fields.String(validate=validate.Regexp(KEY)), required=True,
                                validate=validate.Length(min=1))
    legal_spheres = fields.List(fields.String(validate=validate.OneOf(LEGAL_SPHERES)),
                                load_default=list)
    districts = fields.List(fields.String(), load_default=list)
    housing_stages = fields.List(fields.String(validate=validate.OneOf(HOUSING_STAGES)),
                                 load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ResponsibilityRule:
        return ResponsibilityRule(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in data.items()})


class LeadRuleSchema(Strict):
    legal_sphere = fields.String(required=True, validate=validate.OneOf(LEGAL_SPHERES))
    need = fields.String(required=True)
    organisations = fields.List(fields.String(validate=validate.Regexp(KEY)), required=True,
                                validate=validate.Length(min=1))
    districts = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> LeadRule:
        return LeadRule(legal_sphere=data["legal_sphere"], need=data["need"],
                        organisations=tuple(data["organisations"]),
                        districts=tuple(data["districts"]))


class SelfHelpSchema(Strict):
    need = fields.String(required=True)
    housing_stage = fields.String(required=True, validate=validate.OneOf(HOUSING_STAGES))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    text_en = fields.String(load_default="", validate=validate.Length(max=1000))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> SelfHelp:
        return SelfHelp(**data)


class ResponsibilitySchema(Strict):
    version = fields.String(required=True, validate=validate.Length(min=1))
    lead = fields.List(fields.Nested(LeadRuleSchema), load_default=list)
    rule = fields.List(fields.Nested(RuleSchema), required=True,
                       validate=validate.Length(min=1))
    # What the people can do themselves, per need and housing stage (the Organigramm's).
    self_help = fields.List(fields.Nested(SelfHelpSchema), load_default=list)


class DurationSchema(Strict):
    hours = fields.Integer(validate=validate.Range(min=0, max=24 * 30), load_default=0)
    working_days = fields.Integer(validate=validate.Range(min=0, max=60), load_default=0)

    @validates_schema
    def exactly_one_unit(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("hours")) == bool(data.get("working_days")) and (
                data.get("hours") or data.get("working_days")):
            raise ValidationError("Give either hours or working_days, not both.", "hours")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Duration:
        return Duration(**data)


class StagesSchema(Strict):
    receive = fields.Nested(DurationSchema, required=True)
    decide = fields.Nested(DurationSchema, required=True)
    first_contact = fields.Nested(DurationSchema, required=True)


class LeadHandoffSchema(Strict):
    decide = fields.Nested(DurationSchema, required=True)


class EscalationSchema(Strict):
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=9))
    after = fields.Nested(DurationSchema, required=True)
    after_crisis = fields.Nested(DurationSchema, required=True)
    recipients = fields.List(fields.String(validate=validate.OneOf(RECIPIENTS)),
                             required=True, validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EscalationLevel:
        return EscalationLevel(level=data["level"], after=data["after"],
                               after_crisis=data["after_crisis"],
                               recipients=tuple(data["recipients"]))


class DeadlinePolicySchema(Strict):
    version = fields.String(required=True, validate=validate.Length(min=1))
    urgency = fields.Dict(keys=fields.String(validate=validate.OneOf(URGENCIES)),
                          values=fields.Nested(StagesSchema), required=True)
    lead_handoff = fields.Nested(LeadHandoffSchema, required=True)
    escalation = fields.List(fields.Nested(EscalationSchema), required=True,
                             validate=validate.Length(min=1))

    @validates_schema
    def complete(self, data: dict[str, Any], **_: Any) -> None:
        missing = [u for u in URGENCIES if u not in data.get("urgency", {})]
        if missing:
            raise ValidationError(f"No deadlines for urgency {missing[0]!r}.", "urgency")
        levels = [e.level for e in data.get("escalation", [])]
        if levels != list(range(1, len(levels) + 1)):
            raise ValidationError("Escalation levels must be numbered 1, 2, 3, … in order.",
                                  "escalation")
