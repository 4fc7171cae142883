"""The responsibility map's commands and reads (:mod:`domain.responsibilities`).

The coordination office keeps the map, and so do the admins, who kept its file before the
web could change it (DIRECTORY_ROLES). Every change is an event saying who and when; the
first one starts the network's map from its ``responsibility.toml``. Whatever uses the map
(the suggestions, the drafted lead handoffs, the demo, the Organigramm) reads it through
:meth:`ResponsibilityService.effective_network`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.base import ConflictError, DomainError
from domain.messages import _
from domain.network import NetworkConfig
from domain.organisation import Organisation
from domain.responsibilities import (
    Handout,
    MapContent,
    ResponsibilityMap,
    Terms,
    content_of,
    handout,
    map_toml,
    read_map_file,
)
from domain.services.base import DIRECTORY_ROLES, Service, arguments
from domain.stamp import Stamp
from domain.vocabulary import HOUSING_STAGES


class ResponsibilityService(Service):
    def __init__(self, application: Any) -> None:
        super().__init__(application)
        # (map version) → the network with that map, so each request does not build the
        # rules anew
        self._effective: tuple[int, int, NetworkConfig] | None = None

    # -- reads -------------------------------------------------------------------------------
    def current(self) -> ResponsibilityMap | None:
        """The map as changed in the web; None while the network's file is in force."""
        return self.application.find(
            ResponsibilityMap, ResponsibilityMap.id_for(self.application.network.slug))

    def version(self) -> int:
        """The map's version as a form carries it (0: nobody changed the file's map yet)."""
        found = self.current()
        return found.version if found is not None else 0

    def content(self) -> MapContent:
        found = self.current()
        return found.content() if found is not None else content_of(self.application.network)

    def effective_network(self) -> NetworkConfig:
        """The network with the map in force: the aggregate's once it was changed, else the
        file's. Pass it wherever ``responsible`` or ``lead_takers`` is asked."""
        found = self.current()
        if found is None:
            return self.application.network
        network = self.application.network
        cached = self._effective
        if cached is None or cached[:2] != (found.version, id(network)):
            cached = self._effective = (found.version, id(network),
                                        found.applied_to(network))
        return cached[2]

    def terms(self) -> Terms:
        network = self.application.network
        return Terms(needs=tuple(network.needs), districts=network.districts,
                     organisations={o.key: (o.name, o.active)
                                    for o in self.application.organisations()})

    def export_toml(self) -> str:
        return map_toml(self.content())

    def read_file(self, data: bytes | str) -> MapContent:
        """A file checked against the network and the directory (raises
        :class:`~domain.responsibilities.MapFileError` naming each problem's place)."""
        return read_map_file(data, self.terms())

    def handout(self, district: str, housing_stage: str | None = None) -> Handout:
        """The map in force for one district (and housing stage, else all four): per
        housing stage and need the organisations responsible, with their public contacts,
        and what the people can do themselves; the volunteer initiatives working there;
        the lead takers; the coordination office. Directory data only."""
        self.application.check_district(district)
        if housing_stage is not None and housing_stage not in HOUSING_STAGES:
            raise DomainError(_("Unknown housing stage {housing_stage!r}.",
                                housing_stage=housing_stage), field="housing_stage")
        return handout(self.effective_network(), self.application.organisations(), district,
                       housing_stage)

    # -- commands ----------------------------------------------------------------------------
    def add_rule(self, by: Stamp, rule: Mapping[str, Any], expected_version: int | None = None,
                 idempotency_key: str | None = None) -> dict[str, Any]:
        """``rule``: need, legal_spheres, districts, housing_stages (empty: any) and
        organisations (their directory keys)."""
        made: list[str] = []
        return self._change("add_rule", by, expected_version,
                            lambda m, terms: made.append(m.add_rule(rule, terms, by)) or True,
                            idempotency_key, arguments(locals()), made)

    def change_rule(self, by: Stamp, rule_id: str, rule: Mapping[str, Any],
                    expected_version: int | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        return self._change("change_rule", by, expected_version,
                            lambda m, terms: m.change_rule(rule_id, rule, terms, by),
                            idempotency_key, arguments(locals()))

    def remove_rule(self, by: Stamp, rule_id: str, expected_version: int | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        return self._change("remove_rule", by, expected_version,
                            lambda m, _terms: m.remove_rule(rule_id, by) or True,
                            idempotency_key, arguments(locals()))

    def add_lead_rule(self, by: Stamp, lead: Mapping[str, Any],
                      expected_version: int | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """``lead``: legal_sphere, need, districts (empty: all) and organisations."""
        made: list[str] = []
        return self._change("add_lead_rule", by, expected_version,
                            lambda m, terms: made.append(m.add_lead_rule(lead, terms, by))
                            or True, idempotency_key, arguments(locals()), made)

    def change_lead_rule(self, by: Stamp, rule_id: str, lead: Mapping[str, Any],
                         expected_version: int | None = None,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        return self._change("change_lead_rule", by, expected_version,
                            lambda m, terms: m.change_lead_rule(rule_id, lead, terms, by),
                            idempotency_key, arguments(locals()))

    def remove_lead_rule(self, by: Stamp, rule_id: str, expected_version: int | None = None,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        return self._change("remove_lead_rule", by, expected_version,
                            lambda m, _terms: m.remove_lead_rule(rule_id, by) or True,
                            idempotency_key, arguments(locals()))

    def write_self_help(self, by: Stamp, need: str, housing_stage: str, text: str,
                        text_en: str = "", expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """What the people can do themselves about ``need`` at ``housing_stage``; empty
        texts take it away."""
        said = {"need": need, "housing_stage": housing_stage, "text": text,
                "text_en": text_en}
        return self._change("write_self_help", by, expected_version,
                            lambda m, terms: m.write_self_help(said, terms, by),
                            idempotency_key, arguments(locals()))

    def import_map(self, by: Stamp, data: bytes | str | MapContent,
                   expected_version: int | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        """A whole map from a file, in one transaction: all of it, or (any problem, each
        named) nothing. A file that says what the map says now records nothing, not even
        a receipt: importing the same file again leaves no trace."""
        self.application.verify(by, DIRECTORY_ROLES)
        content = data if isinstance(data, MapContent) else self.read_file(data)
        now = self.content()
        if content.same_map(now) and content.version == now.version:
            return {"changed": False, "version": self.version()}
        return self._change("import_map", by, expected_version,
                            lambda m, _terms: m.take_file(content, by), idempotency_key,
                            {"content": repr(content)})

    def _change(self, command: str, by: Stamp, expected_version: int | None,
                change: Callable[[ResponsibilityMap, Terms], bool],
                idempotency_key: str | None, args: dict[str, Any],
                made: list[str] | None = None) -> dict[str, Any]:
        """Decides on the map as the user saw it (``expected_version``; 0: the file's map);
        the first change starts the map from the file in the same transaction."""
        network = self.application.network

        def decide() -> Any:
            self.application.verify(by, DIRECTORY_ROLES)
            found = self.current()
            version = found.version if found is not None else 0
            if expected_version is not None and version != expected_version:
                changed_by = self.application._changed_by(found.id, expected_version) \
                    if found is not None else frozenset()
                raise ConflictError(_(
                    "The responsibility map was changed meanwhile (version {version}, you saw "
                    "{expected}). Please reload and try again.", version=version,
                    expected=expected_version), changed_by=changed_by)
            responsibility_map = found or ResponsibilityMap.start(
                network.slug, content_of(network), by)
            if not change(responsibility_map, self.terms()):
                # Nothing to record: a map only started for it is not saved either.
                return [], {"changed": False, "version": version}
            result: dict[str, Any] = {"changed": True, "version": responsibility_map.version}
            if made:
                result["rule_id"] = made[-1]
            return [responsibility_map], result
        return self.application.execute(command, by, decide, idempotency_key=idempotency_key,
                                        arguments=args)

    # -- the contacts the public Organigramm shows -------------------------------------------
    def public_contact_organisations(self) -> list[Organisation]:
        """Active organisations with contacts, by name."""
        return sorted((o for o in self.application.organisations() if o.active and o.contacts),
                      key=lambda o: o.name.casefold())
