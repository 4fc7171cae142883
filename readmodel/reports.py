"""The network's instruments (DESIGN §11), counted from the report facts
(:mod:`readmodel.projections.network`) and the directory's views: the network map, the
care-gap report and the network's health. Aggregates only: counts, shares and medians per
organisation pair or per district and need, never a person.

Times are calendar days between two steps (the medians), periods whole months (UTC). What
leaves the coordination office goes through :func:`suppressed`."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.network import NetworkConfig
from domain.referral import NO_CAPACITY, NOT_RESPONSIBLE, OTHER_GROUNDS
from domain.routing import offers_need, offers_need_or_group
from readmodel.store import ViewStore, parse

# Counts from 1 to 4 are shown as "< 5" in everything that leaves the office.
SMALL = 5
HIGH_LOAD = 0.9  # a need's services this full in a district count as a gap
TREND_MONTHS = 12


@dataclass(frozen=True)
class Period:
    """Whole months: ``start`` is the first day of the first month, ``end`` the first day
    after the last."""

    start: date
    end: date

    @classmethod
    def months(cls, first: str, last: str) -> Period:
        """From "YYYY-MM" to "YYYY-MM", both included."""
        start = date.fromisoformat(f"{first}-01")
        last_month = date.fromisoformat(f"{last}-01")
        return cls(start, _next_month(last_month))

    def bounds(self) -> tuple[str, str]:
        return f"{self.start.isoformat()}T00:00:00", f"{self.end.isoformat()}T00:00:00"

    @property
    def last_month(self) -> date:
        return _previous_month(self.end)


@dataclass(frozen=True)
class ReportFilter:
    period: Period
    district: str | None = None
    need: str | None = None  # a need or a need group (its prefix)
    organisation_id: str | None = None  # a supervisor's slice: their referrals, both ways

    def matches_need(self, need: str) -> bool:
        return self.need is None or need == self.need or need.startswith(f"{self.need}.")


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def _days(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (parse(end) - parse(start)).total_seconds() / 86400


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _sent_referrals(store: ViewStore, f: ReportFilter) -> list[dict[str, Any]]:
    """The referrals sent in the period that match the filter."""
    start, end = f.period.bounds()
    sql = "SELECT * FROM {p}report_referrals WHERE sent_at >= ? AND sent_at < ?"
    params: list[Any] = [start, end]
    if f.district:
        sql += " AND district = ?"
        params.append(f.district)
    if f.organisation_id:
        sql += " AND (from_organisation_id = ? OR to_organisation_id = ?)"
        params += [f.organisation_id, f.organisation_id]
    with store.reading() as cur:
        rows = cur.all(sql, params)
    return [r for r in rows if f.matches_need(r["need"])]


# -- the network map ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Flow:
    """Referrals from one organisation to another in the period."""

    from_organisation_id: str
    to_organisation_id: str
    sent: int
    accepted: int
    rejected: int
    acceptance_rate: float | None  # accepted ÷ decided (accepted or rejected)
    median_days_to_receive: float | None
    median_days_to_accept: float | None
    overdue_share: float | None  # escalated at least once ÷ sent


@dataclass(frozen=True)
class Node:
    organisation_id: str
    name: str
    sector: str
    sent: int
    received: int


@dataclass(frozen=True)
class NetworkMap:
    nodes: list[Node]
    flows: list[Flow]


def network_map(store: ViewStore, f: ReportFilter) -> NetworkMap:
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in _sent_referrals(store, f):
        pairs[(row["from_organisation_id"], row["to_organisation_id"])].append(row)
    flows = []
    for (sender, receiver), rows in sorted(pairs.items()):
        accepted = sum(1 for r in rows if r["accepted_at"])
        rejected = sum(1 for r in rows if r["rejected_at"])
        flows.append(Flow(
            sender, receiver, len(rows), accepted, rejected, share(accepted, accepted + rejected),
            median(_days(r["sent_at"], r["received_at"]) for r in rows),
            median(_days(r["sent_at"], r["accepted_at"]) for r in rows),
            share(sum(r["escalated"] for r in rows), len(rows))))
    involved = {o for pair in pairs for o in pair}
    with store.reading() as cur:
        organisations = cur.all("SELECT organisation_id, name, sector FROM {p}organisations "
                                "ORDER BY sector, name")
    nodes = [Node(o["organisation_id"], o["name"], o["sector"],
                  sum(fl.sent for fl in flows if fl.from_organisation_id == o["organisation_id"]),
                  sum(fl.sent for fl in flows if fl.to_organisation_id == o["organisation_id"]))
             for o in organisations if o["organisation_id"] in involved]
    return NetworkMap(nodes, flows)


# -- the care-gap report ------------------------------------------------------------------------
@dataclass(frozen=True)
class GapRow:
    district: str
    need: str
    needs_recorded: int
    sent: int
    accepted: int
    rejected_no_capacity: int
    rejected_not_responsible: int
    rejected_other: int
    overdue: int  # escalated at least once
    median_days_to_first_contact: float | None
    providers: int  # active services offering the need in the district
    load: float | None  # places taken ÷ places of those services
    trend: list[int] = field(default_factory=list)  # referrals sent per month, oldest first

    @property
    def no_provider(self) -> bool:
        return self.providers == 0

    @property
    def no_acceptance(self) -> bool:
        return self.sent > 0 and self.accepted == 0

    @property
    def gaps(self) -> list[str]:
        """Why this row is a care gap (empty: it is not one)."""
        found = []
        if self.no_provider:
            found.append("no_provider")
        elif self.no_acceptance:
            found.append("no_acceptance")
        if self.rejected_no_capacity:
            found.append("rejected_for_capacity")
        if self.load is not None and self.load >= HIGH_LOAD:
            found.append("high_load")
        return found


def care_gaps(store: ViewStore, network: NetworkConfig, f: ReportFilter) -> list[GapRow]:
    """One row per district and need with demand in the period (needs recorded or referrals
    sent), and one per need of the filter that no service offers in a district."""
    start, end = f.period.bounds()
    rows_by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in _sent_referrals(store, f):
        rows_by_key[(row["district"], row["need"])].append(row)
    recorded: dict[tuple[str, str], int] = defaultdict(int)
    with store.reading() as cur:
        for row in cur.all("SELECT district, need, COUNT(*) AS n FROM {p}report_needs "
                           "WHERE recorded_at >= ? AND recorded_at < ? "
                           "GROUP BY district, need", (start, end)):
            if (not f.district or row["district"] == f.district) and f.matches_need(
                    row["need"]):
                recorded[(row["district"], row["need"])] += int(row["n"])
        services = _active_services(cur)
    trends = _monthly_sent(store, f)
    districts = [f.district] if f.district else list(network.districts)
    needs = [n for n in network.needs if f.matches_need(n)]
    keys = set(rows_by_key) | set(recorded)
    keys |= {(d, n) for d in districts for n in needs
             if not _services_for(services, d, n)}
    result = []
    for district, need in sorted(keys):
        rows = rows_by_key.get((district, need), [])
        offered = _services_for(services, district, need)
        places = sum(s["capacity"] or 0 for s in offered)
        taken = sum(int(s["active_referrals"]) for s in offered)
        result.append(GapRow(
            district, need, recorded.get((district, need), 0), len(rows),
            sum(1 for r in rows if r["accepted_at"]),
            sum(1 for r in rows if r["grounds"] == NO_CAPACITY),
            sum(1 for r in rows if r["grounds"] == NOT_RESPONSIBLE),
            sum(1 for r in rows if r["grounds"] == OTHER_GROUNDS),
            sum(r["escalated"] for r in rows),
            median(_days(r["sent_at"], r["first_contact_at"]) for r in rows),
            len(offered), share(taken, places) if places else None,
            trends.get((district, need), [0] * TREND_MONTHS)))
    return result


def _active_services(cur: Any) -> list[dict[str, Any]]:
    """The active services with their load, needs and districts read once."""
    rows = cur.all("SELECT s.*, o.active FROM {p}service_load s JOIN {p}organisations o "
                   "ON o.organisation_id = s.organisation_id")
    return [{**s, "needs": json.loads(s["needs"]), "districts": json.loads(s["districts"])}
            for s in rows if s["active"]]


def _serves(service: dict[str, Any], district: str | None) -> bool:
    """A service naming no districts serves the whole network."""
    return district is None or not service["districts"] or district in service["districts"]


def _services_for(services: list[dict[str, Any]], district: str,
                  need: str) -> list[dict[str, Any]]:
    """Active services offering the need in the district."""
    return [s for s in services if offers_need(s, need) and _serves(s, district)]


def _monthly_sent(store: ViewStore, f: ReportFilter) -> dict[tuple[str, str], list[int]]:
    """Referrals sent per district and need in each of the twelve months up to the
    period's last."""
    months = [f.period.last_month]
    while len(months) < TREND_MONTHS:
        months.insert(0, _previous_month(months[0]))
    window = replace(f, period=Period(months[0], f.period.end))
    index = {m.strftime("%Y-%m"): i for i, m in enumerate(months)}
    trends: dict[tuple[str, str], list[int]] = {}
    for row in _sent_referrals(store, window):
        counts = trends.setdefault((row["district"], row["need"]), [0] * TREND_MONTHS)
        counts[index[row["sent_at"][:7]]] += 1
    return trends


# -- the network's health -----------------------------------------------------------------------
@dataclass(frozen=True)
class Overdue:
    """The open referrals of one receiver whose running deadline has passed."""

    organisation_id: str
    name: str
    referrals: int
    median_days_overdue: float | None
    most_days_overdue: float | None


@dataclass(frozen=True)
class Health:
    sent: int
    with_outcome: int  # ended: completed, failed, rejected, forwarded or cancelled
    outcome_share: float | None
    median_days_to_receive: float | None
    median_days_to_decide: float | None  # from receipt to acceptance, rejection or forward
    median_days_to_first_contact: float | None  # from acceptance
    overdue_by_receiver: list[Overdue]


def network_health(store: ViewStore, f: ReportFilter, now: datetime) -> Health:
    rows = _sent_referrals(store, f)
    ended = [r for r in rows if r["ended_at"] and r["status"] != "entered-in-error"]
    counted = [r for r in rows if r["status"] != "entered-in-error"]

    def decided(r: dict[str, Any]) -> str | None:
        moments = [m for m in (r["accepted_at"], r["rejected_at"], r["forwarded_at"]) if m]
        return min(moments) if moments else None
    return Health(
        len(counted), len(ended), share(len(ended), len(counted)),
        median(_days(r["sent_at"], r["received_at"]) for r in counted),
        median(_days(r["received_at"] or r["sent_at"], decided(r)) for r in counted),
        median(_days(r["accepted_at"], r["first_contact_at"]) for r in counted),
        overdue_by_receiver(store, f, now))


def overdue_by_receiver(store: ViewStore, f: ReportFilter, now: datetime) -> list[Overdue]:
    """Open referrals past their running deadline now, by receiver, the most first (for a
    supervisor's slice: those their organisation received or sent)."""
    sql = ("SELECT r.to_organisation_id, r.from_organisation_id, r.need, r.next_due_at, "
           "o.name, c.district "
           "FROM {p}referrals r JOIN {p}organisations o "
           "ON o.organisation_id = r.to_organisation_id "
           "JOIN {p}cases c ON c.case_id = r.case_id "
           "WHERE r.next_due_at IS NOT NULL AND r.next_due_at < ?")
    with store.reading() as cur:
        rows = cur.all(sql, (now.isoformat(timespec="microseconds"),))
    late: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        if f.district and row["district"] != f.district or not f.matches_need(row["need"]):
            continue
        if f.organisation_id and f.organisation_id not in (row["to_organisation_id"],
                                                            row["from_organisation_id"]):
            continue
        late[(row["to_organisation_id"], row["name"])].append(
            (now - parse(row["next_due_at"])).total_seconds() / 86400)
    found = [Overdue(oid, name, len(days), median(days), round(max(days), 1))
             for (oid, name), days in late.items()]
    return sorted(found, key=lambda o: (-o.referrals, o.name))


# -- capacity against demand -------------------------------------------------------------
@dataclass(frozen=True)
class DemandRow:
    """An expected demand of the period set against the places of the services that
    offer its need (or any need of its group) in its district (or the whole network)."""

    estimate_id: str
    need: str
    district: str | None
    first_month: str  # "YYYY-MM"
    last_month: str
    people: int
    places: int
    taken: int

    @property
    def free(self) -> int:
        return max(0, self.places - self.taken)

    @property
    def missing(self) -> int:
        return max(0, self.people - self.free)


def capacity_against_demand(store: ViewStore, f: ReportFilter) -> list[DemandRow]:
    start, end = (d.isoformat() for d in (f.period.start, f.period.end))
    with store.reading() as cur:
        estimates = cur.all("SELECT * FROM {p}report_demand WHERE people > 0 "
                            "AND first_month < ? AND last_month >= ? "
                            "ORDER BY need, district, first_month", (end, start))
        services = _active_services(cur)
    rows = []
    for e in estimates:
        if f.district and e["district"] != f.district or not f.matches_need(e["need"]):
            continue
        offered = [s for s in services
                   if offers_need_or_group(s, e["need"]) and _serves(s, e["district"])]
        rows.append(DemandRow(
            e["estimate_id"], e["need"], e["district"], e["first_month"][:7],
            e["last_month"][:7], int(e["people"]), sum(s["capacity"] or 0 for s in offered),
            sum(int(s["active_referrals"]) for s in offered)))
    return rows


# -- what leaves the office ---------------------------------------------------------------------
def suppressed(count: int) -> int | str:
    """A count as it may leave the coordination office: 1 to 4 as "< 5" (0 stays 0: that
    nothing happened is not a person)."""
    return f"< {SMALL}" if 0 < count < SMALL else count


def rate_for_export(rate: float | None, whole: int) -> float | str | None:
    """A share over fewer than five referrals would let a reader count them back."""
    return f"< {SMALL}" if rate is not None and whole < SMALL else rate
