"""The network's instruments (DESIGN §11), counted from the report facts
(:mod:`readmodel.projections.network`) and the directory's views: the network map, the
care-gap report and the network's health. Aggregates only: counts, shares and medians per
organisation pair or per district and need, never a person.

Times are calendar days between two steps (the medians), periods whole months (UTC). What
leaves the coordination office goes through :func:`suppressed`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.network import NetworkConfig
from domain.routing import offers_need, offers_need_or_group
from readmodel.projections.network import FLOW_COUNTS
from readmodel.store import ViewStore, parse

# Counts from 1 to 4 are shown as "< 5" in everything that leaves the office.
SMALL = 5
ROUNDED_TO = 5  # the larger counts that leave the office, to a multiple of this
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

    @property
    def last_month(self) -> date:
        return previous_month(self.end)


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


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def weighted_median(counted: Iterable[tuple[float, int]]) -> float | None:
    """The median of values given with how often each occurs: the same as
    :func:`statistics.median` of the values written out, without writing them out."""
    items = sorted((value, times) for value, times in counted if times > 0)
    total = sum(times for _, times in items)
    if not total:
        return None

    def nth(index: int) -> float:
        seen = 0
        for value, times in items:
            seen += times
            if index < seen:
                return value
        raise AssertionError("index beyond the values")
    return (nth((total - 1) // 2) + nth(total // 2)) / 2


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _where(f: ReportFilter, months: Period | None = None,
           organisation: str = "(from_organisation_id = ? OR to_organisation_id = ?)"
           ) -> tuple[str, list[Any]]:
    """The filter as SQL over monthly rows (``month``, ``district``, ``need`` and the
    organisation columns named by ``organisation``)."""
    period = months or f.period
    narrowed, params = _narrowed(f, "district = ?", "need", organisation)
    return ("month >= ? AND month <= ?" + narrowed,
            [_month(period.start), _month(period.last_month), *params])


def _narrowed(f: ReportFilter, district: str, need: str,
              organisation: str) -> tuple[str, list[Any]]:
    """The filter's district, need (or need group) and organisation as SQL conditions,
    each with its ``AND``; ``district`` and ``organisation`` are conditions with ``?``
    for the value, ``need`` the need's column."""
    sql, params = "", []
    if f.district:
        sql += f" AND {district}"
        params.append(f.district)
    if f.need:
        sql += f" AND ({need} = ? OR substr({need}, 1, ?) = ?)"
        params += [f.need, len(f.need) + 1, f"{f.need}."]
    if f.organisation_id:
        sql += f" AND {organisation}"
        params += [f.organisation_id] * organisation.count("?")
    return sql, params


def _flows(store: ViewStore, f: ReportFilter, by: tuple[str, ...],
           months: Period | None = None) -> list[dict[str, Any]]:
    """The referrals sent in the period that match the filter, counted per ``by``."""
    where, params = _where(f, months)
    sums = ", ".join(f"COALESCE(SUM({c}), 0) AS {c}" for c in FLOW_COUNTS)
    grouped = ", ".join(by)
    sql = (f"SELECT {grouped + ', ' if by else ''}{sums} FROM {{p}}report_flows "
           f"WHERE {where}")
    if by:
        sql += f" GROUP BY {grouped} HAVING SUM(sent) > 0 ORDER BY {grouped}"
    with store.reading() as cur:
        rows = cur.all(sql, params)
    return [{**r, **{c: int(r[c]) for c in FLOW_COUNTS}} for r in rows]


@dataclass(frozen=True)
class StepTimes:
    """Median days of a row's steps, and how many referrals took each (a median over
    fewer than five does not leave the office: it would be one person's wait)."""

    days: dict[str, float | None] = field(default_factory=dict)
    referrals: dict[str, int] = field(default_factory=dict)


def _step_medians(store: ViewStore, f: ReportFilter, by: tuple[str, ...],
                  steps: tuple[str, ...]) -> dict[tuple[Any, ...], StepTimes]:
    """Median days of each step per ``by``, from the hours' histograms."""
    where, params = _where(f)
    grouped = "".join(f"{column}, " for column in by)
    sql = (f"SELECT {grouped}step, hours, SUM(referrals) AS n FROM {{p}}report_step_hours "
           f"WHERE {where} AND step IN ({', '.join('?' for _ in steps)}) "
           f"GROUP BY {grouped}step, hours")
    with store.reading() as cur:
        rows = cur.all(sql, [*params, *steps])
    histograms: dict[tuple[Any, ...], dict[str, list[tuple[float, int]]]] = defaultdict(
        lambda: defaultdict(list))
    for row in rows:
        histograms[tuple(row[c] for c in by)][row["step"]].append(
            (int(row["hours"]), int(row["n"])))
    medians: dict[tuple[Any, ...], StepTimes] = {}
    for key, by_step in histograms.items():
        medians[key] = times = StepTimes()
        for step, counted in by_step.items():
            hours = weighted_median(counted)
            times.days[step] = None if hours is None else round(hours / 24, 1)
            times.referrals[step] = sum(n for _, n in counted)
    return medians


# -- the network map ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Flow:
    """Referrals from one organisation to another in the period."""

    from_organisation_id: str
    to_organisation_id: str
    sent: int
    accepted: int
    rejected: int
    escalated: int  # at least once
    acceptance_rate: float | None  # accepted ÷ decided (accepted or rejected)
    median_days_to_receive: float | None
    median_days_to_accept: float | None
    overdue_share: float | None  # escalated at least once ÷ sent
    times: StepTimes = field(default_factory=StepTimes, compare=False)


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
    pair = ("from_organisation_id", "to_organisation_id")
    medians = _step_medians(store, f, pair, ("receipt", "acceptance"))
    flows = []
    for row in _flows(store, f, pair):
        key = (row["from_organisation_id"], row["to_organisation_id"])
        rejected = (row["rejected_no_capacity"] + row["rejected_not_responsible"]
                    + row["rejected_other"])
        steps = medians.get(key, StepTimes())
        flows.append(Flow(
            *key, row["sent"], row["accepted"], rejected, row["escalated"],
            share(row["accepted"], row["accepted"] + rejected), steps.days.get("receipt"),
            steps.days.get("acceptance"), share(row["escalated"], row["sent"]), steps))
    involved = {o for flow in flows for o in (flow.from_organisation_id,
                                              flow.to_organisation_id)}
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
    times: StepTimes = field(default_factory=StepTimes, compare=False)

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
    place = ("district", "need")
    counted = {(r["district"], r["need"]): r for r in _flows(store, f, place)}
    first_contact = _step_medians(store, f, place, ("first_contact",))
    where, params = _where(f, organisation="organisation_id = ?")
    with store.reading() as cur:
        recorded = {(r["district"], r["need"]): int(r["n"]) for r in cur.all(
            f"SELECT district, need, SUM(recorded) AS n FROM {{p}}report_need_months "
            f"WHERE {where} GROUP BY district, need HAVING SUM(recorded) > 0", params)}
        services = _active_services(cur)
    trends = _monthly_sent(store, f)
    districts = [f.district] if f.district else list(network.districts)
    needs = [n for n in network.needs if f.matches_need(n)]
    keys = set(counted) | set(recorded)
    keys |= {(d, n) for d in districts for n in needs
             if not _services_for(services, d, n)}
    result = []
    for district, need in sorted(keys):
        row = counted.get((district, need), dict.fromkeys(FLOW_COUNTS, 0))
        offered = _services_for(services, district, need)
        places = sum(s["capacity"] or 0 for s in offered)
        taken = sum(int(s["active_referrals"]) for s in offered)
        steps = first_contact.get((district, need), StepTimes())
        result.append(GapRow(
            district, need, recorded.get((district, need), 0), row["sent"], row["accepted"],
            row["rejected_no_capacity"], row["rejected_not_responsible"],
            row["rejected_other"], row["escalated"],
            steps.days.get("first_contact"), len(offered),
            share(taken, places) if places else None,
            trends.get((district, need), [0] * TREND_MONTHS), steps))
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
        months.insert(0, previous_month(months[0]))
    index = {_month(m): i for i, m in enumerate(months)}
    trends: dict[tuple[str, str], list[int]] = {}
    for row in _flows(store, f, ("district", "need", "month"),
                      months=Period(months[0], f.period.end)):
        counts = trends.setdefault((row["district"], row["need"]), [0] * TREND_MONTHS)
        counts[index[row["month"]]] += row["sent"]
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
    times: StepTimes = field(default_factory=StepTimes, compare=False)


def network_health(store: ViewStore, f: ReportFilter, now: datetime) -> Health:
    totals = _flows(store, f, ())[0]
    steps = _step_medians(store, f, (), ("receipt", "decision", "contact_after_acceptance")
                          ).get((), StepTimes())
    return Health(
        totals["sent"], totals["ended"], share(totals["ended"], totals["sent"]),
        steps.days.get("receipt"), steps.days.get("decision"),
        steps.days.get("contact_after_acceptance"), overdue_by_receiver(store, f, now), steps)


def overdue_by_receiver(store: ViewStore, f: ReportFilter, now: datetime) -> list[Overdue]:
    """Open referrals past their running deadline now, by receiver, the most first (for a
    supervisor's slice: those their organisation received or sent)."""
    sql = ("SELECT r.to_organisation_id, o.name, r.next_due_at, COUNT(*) AS n "
           "FROM {p}referrals r JOIN {p}organisations o "
           "ON o.organisation_id = r.to_organisation_id "
           "WHERE r.next_due_at IS NOT NULL AND r.next_due_at < ?")
    narrowed, params = _narrowed(
        f, "r.case_id IN (SELECT case_id FROM {p}cases WHERE district = ?)", "r.need",
        "(r.to_organisation_id = ? OR r.from_organisation_id = ?)")
    sql += narrowed
    # The referrals open and overdue now, not the history: one row per receiver and
    # deadline (referrals due at the same moment come as one).
    sql += " GROUP BY r.to_organisation_id, o.name, r.next_due_at"
    with store.reading() as cur:
        rows = cur.all(sql, [now.isoformat(timespec="microseconds"), *params])
    late: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for row in rows:
        late[(row["to_organisation_id"], row["name"])].append(
            ((now - parse(row["next_due_at"])).total_seconds() / 86400, int(row["n"])))
    found = []
    for (oid, name), days in late.items():
        middle = weighted_median(days)
        found.append(Overdue(oid, name, sum(n for _, n in days),
                             None if middle is None else round(middle, 1),
                             round(max(d for d, _ in days), 1)))
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
    nothing happened is not a person), the others rounded to a multiple of five, so that
    no total, difference or sum of the shown counts gives a hidden one back exactly."""
    return f"< {SMALL}" if 0 < count < SMALL else rounded(count)


def rounded(count: int) -> int:
    """To the nearest multiple of five (7 → 5, 8 → 10)."""
    return ROUNDED_TO * ((count + ROUNDED_TO // 2) // ROUNDED_TO)


def drawn(count: int) -> int:
    """A count as a chart that leaves the office may draw it (a line's thickness would
    otherwise tell the hidden count): rounded, and every small count alike."""
    return 0 if count == 0 else SMALL // 2 if count < SMALL else rounded(count)


def median_for_export(days: float | None, referrals: int) -> float | None:
    """A median over fewer than five referrals would be a person's own wait."""
    return days if referrals >= SMALL else None


def rate_for_export(rate: float | None, part: int, whole: int) -> float | str | None:
    """A share ``part`` ÷ ``whole`` as it may leave the office: beside the counts, a share
    over fewer than five, or whose part or rest is from 1 to 4, would let a reader work a
    suppressed count back out (5 sent and 60 % ended: 3 ended)."""
    if rate is None:
        return None
    hidden = whole < SMALL or 0 < part < SMALL or 0 < whole - part < SMALL
    return f"< {SMALL}" if hidden else rate
