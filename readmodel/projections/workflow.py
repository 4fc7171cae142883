"""Applies one event to the view tables: inbox and outbox (``referrals``), case timeline,
deadlines, load per service, directory, notification outbox and in-app notifications.

Everything is derived from the events alone (and the network's deadline policy), so a
rebuild gives the same rows."""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any

from domain.deadlines import calendar_for, stage_deadline
from domain.network import NetworkConfig
from domain.case import Case
from domain.notification import Notification
from domain.organisation import Organisation
from domain.referral import ON_HOLD, STATUS_AFTER_EVENT, Referral, running_stage
from domain.routing import REQUESTED, TAKEN, WAITING, load_kind, offers_need
from readmodel.projections.dispatch import handler
from readmodel.projections.written import WrittenRows
from readmodel.store import Cursor, as_json, parse, ts

# The service_load column each kind of load (domain.routing.load_kind) is counted in.
LOAD_COLUMNS = {TAKEN: "active_referrals", REQUESTED: "requested_referrals",
                WAITING: "waiting_referrals"}
STATUS_BY_EVENT = STATUS_AFTER_EVENT  # the domain's own table of commands

class WorkflowViews:
    """The views of the referral workflow. Each event class has its handler, registered by
    class (``project.register``), as the eventsourcing library's projections do; an event
    no view shows changes nothing."""

    def __init__(self, network: NetworkConfig) -> None:
        self.network = network
        self.calendar = calendar_for(network.state)
        self._referrals = WrittenRows()

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        handler(self, event)(self, event, cur, position)

    @singledispatchmethod
    def project(self, event: Any, cur: Cursor, position: int) -> None:
        """Accounts, receipts and case numbers show in no view."""

    # -- directory ----------------------------------------------------------------------------
    @project.register(Organisation.Registered)
    def _organisation_registered(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("INSERT INTO {p}organisations VALUES (?, ?, ?, ?, ?, 1, '{}')",
                    (str(e.originator_id), e.key, e.name, e.sector, e.inbox_address))

    @project.register(Organisation.ServiceAdded)
    @project.register(Organisation.ServiceChanged)
    def _service(self, e: Any, cur: Cursor, position: int) -> None:
        oid, s = str(e.originator_id), e.service
        updated = cur.execute(
            "UPDATE {p}service_load SET name = ?, needs = ?, capacity = ?, districts = ? "
            "WHERE organisation_id = ? AND service_id = ?",
            (s["name"], as_json(s["needs"]), s["capacity"], as_json(s.get("districts") or []),
             oid, e.service_id)).rowcount
        if not updated:
            counts = self._load_counts(cur, oid, e.service_id)
            cur.execute("INSERT INTO {p}service_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (oid, e.service_id, s["name"], as_json(s["needs"]), s["capacity"],
                         counts[TAKEN], counts[REQUESTED], counts[WAITING],
                         as_json(s.get("districts") or [])))

    @project.register(Organisation.CapacityChanged)
    def _capacity_changed(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}service_load SET capacity = ? WHERE organisation_id = ? "
                    "AND service_id = ?", (e.capacity, str(e.originator_id), e.service_id))

    @project.register(Organisation.MemberAdded)
    @project.register(Organisation.MemberRemoved)
    def _members(self, e: Any, cur: Cursor, position: int) -> None:
        oid = str(e.originator_id)
        row = cur.one("SELECT members FROM {p}organisations WHERE organisation_id = ?",
                      (oid,))
        members = json.loads(row["members"]) if row else {}
        if isinstance(e, Organisation.MemberAdded):
            members[e.user] = e.role
        else:
            members.pop(e.user, None)
        cur.execute("UPDATE {p}organisations SET members = ? WHERE organisation_id = ?",
                    (as_json(members), oid))

    @project.register(Organisation.Deactivated)
    def _deactivated(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}organisations SET active = 0 WHERE organisation_id = ?",
                    (str(e.originator_id),))

    @project.register(Organisation.ServiceEnded)
    def _service_ended(self, e: Any, cur: Cursor, position: int) -> None:
        # out of the directory's lists; the referrals to it keep their rows
        cur.execute("DELETE FROM {p}service_load WHERE organisation_id = ? AND service_id = ?",
                    (str(e.originator_id), e.service_id))

    @project.register(Organisation.Reactivated)
    def _reactivated(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}organisations SET active = 1 WHERE organisation_id = ?",
                    (str(e.originator_id),))

    @project.register(Organisation.DetailsChanged)
    def _details_changed(self, e: Any, cur: Cursor, position: int) -> None:
        # as its publisher's directory says now (an HSDS import)
        cur.execute("UPDATE {p}organisations SET name = ?, inbox_address = ? "
                    "WHERE organisation_id = ?",
                    (e.name, e.inbox_address, str(e.originator_id)))

    @project.register(Organisation.WebhookSubscribed)
    def _webhook_subscribed(self, e: Any, cur: Cursor, position: int) -> None:
        # the address only: the secret stays in the store
        cur.execute("INSERT INTO {p}webhooks VALUES (?, ?, ?)",
                    (str(e.originator_id), e.webhook_id, e.url))

    @project.register(Organisation.WebhookRemoved)
    def _webhook_removed(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("DELETE FROM {p}webhooks WHERE organisation_id = ? AND webhook_id = ?",
                    (str(e.originator_id), e.webhook_id))

    def _load_counts(self, cur: Cursor, organisation_id: str, service_id: str
                     ) -> dict[str, int]:
        counts = {TAKEN: 0, REQUESTED: 0, WAITING: 0}
        for row in cur.all("SELECT status, waitlisted_at FROM {p}referrals "
                           "WHERE to_organisation_id = ? AND load_service_id = ?",
                           (organisation_id, service_id)):
            kind = load_kind(row["status"], row["waitlisted_at"] is not None)
            if kind is not None:
                counts[kind] += 1
        return counts

    # -- cases --------------------------------------------------------------------------------
    @project.register(Case.Opened)
    def _case_opened(self, e: Any, cur: Cursor, position: int) -> None:
        cid = str(e.originator_id)
        cur.execute("INSERT INTO {p}cases VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, NULL, NULL, "
                    "NULL)",
                    (cid, e.reference, str(e.lead_organisation_id), e.lead_caseworker,
                     e.person["district"], e.legal_sphere, ts(e.timestamp),
                     e.originator_version))
        self._timeline(cur, cid, e, position)

    @project.register(Case.Event)
    def _case_changed(self, e: Any, cur: Cursor, position: int) -> None:
        """Every later event of a case: its version, what the case list shows of it."""
        cid = str(e.originator_id)
        updates: dict[str, Any] = {"version": e.originator_version,
                                   **CASE_COLUMNS.get(type(e), lambda _e: {})(e)}
        if isinstance(e, Case.ConsentOverridden):
            self._notify_supervisors(cur, e, position)
        elif isinstance(e, Case.RevocationRequested):
            cur.execute("INSERT INTO {p}person_requests VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (case_id, consent_id) DO NOTHING",
                        (cid, e.consent_id, ts(e.timestamp), ts(e.due_at)))
        elif isinstance(e, (Case.ConsentRevoked, Case.ConsentExpired)):
            cur.execute("DELETE FROM {p}person_requests WHERE case_id = ? AND consent_id = ?",
                        (cid, e.consent_id))
        elif isinstance(e, Case.Erased):
            cur.execute("DELETE FROM {p}person_requests WHERE case_id = ?", (cid,))
        assignments = ", ".join(f"{column} = ?" for column in updates)
        cur.execute(f"UPDATE {{p}}cases SET {assignments} WHERE case_id = ?",
                    (*updates.values(), cid))
        self._timeline(cur, cid, e, position)

    def _notify_supervisors(self, cur: Cursor, e: Any, position: int) -> None:
        """DESIGN §7: a crisis override is brought to the sending supervisors' attention."""
        organisation_id = str(e.by.organisation_id)
        row = cur.one("SELECT members FROM {p}organisations WHERE organisation_id = ?",
                      (organisation_id,))
        members = json.loads(row["members"]) if row else {}
        supervisors = [u for u, role in members.items() if role == "supervisor"] or [None]
        for user in supervisors:
            recipient = f"user:{user}" if user else f"organisation:{organisation_id}"
            cur.execute("INSERT INTO {p}inapp VALUES (?, ?, ?, 'crisis_override', ?)",
                        (recipient, f"override:{position}", str(e.referral_id),
                         ts(e.timestamp)))

    def _timeline(self, cur: Cursor, case_id: str, e: Any, position: int) -> None:
        """Ids and types only: what happened to a case, when and by whom; what an event
        says stays in the event store (the audit reads it there)."""
        cur.execute("INSERT INTO {p}timeline VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (case_id, position, ts(e.timestamp), str(e.originator_id),
                     f"{type(e).__qualname__}", e.by.user,
                     str(e.by.organisation_id) if e.by.organisation_id else None, e.by.role))

    def _feedback(self, cur: Cursor, row: dict[str, Any], e: Any) -> None:
        """The latest answer per referral, without its words (they stay sealed)."""
        by_person = int(e.by.role == "person")
        earlier = cur.one("SELECT by_person FROM {p}feedback WHERE referral_id = ?",
                          (row["referral_id"],))
        if earlier is not None and earlier["by_person"] and not by_person:
            return  # what the person said themself counts, not what was told of it
        case = cur.one("SELECT district FROM {p}cases WHERE case_id = ?", (row["case_id"],))
        cur.execute("DELETE FROM {p}feedback WHERE referral_id = ?", (row["referral_id"],))
        cur.execute("INSERT INTO {p}feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row["referral_id"], row["to_organisation_id"], row["load_service_id"],
                     case["district"] if case else "", e.helped, e.understood,
                     ts(e.timestamp), by_person, row["need"], row["from_organisation_id"]))

    # -- referrals ----------------------------------------------------------------------------
    @project.register(Referral.Created)
    def _referral_created(self, e: Any, cur: Cursor, position: int) -> None:
        rid = str(e.originator_id)
        self._webhook_message(cur, e, position, e.status, None, {
            "case_id": str(e.case_id), "need": e.need, "urgency": e.urgency,
            "kind": e.kind, "from_organisation_id": str(e.from_organisation_id),
            "to_organisation_id": str(e.to_organisation_id),
            "parent_referral_id": str(e.parent_referral_id) if e.parent_referral_id
            else None})
        case = cur.one("SELECT reference FROM {p}cases WHERE case_id = ?",
                       (str(e.case_id),))
        load_service = self._load_service(cur, e)
        sent_at = ts(e.timestamp) if e.status == "requested" else None
        next_stage, next_due_at, level = self._deadline(
            cur, rid, status=e.status, urgency=e.urgency, kind=e.kind, sent_at=sent_at,
            first_contact_at=None, holds=[], escalations=[], new=True)
        row = {"referral_id": rid, "case_id": str(e.case_id),
               "case_reference": case["reference"] if case else None, "need": e.need,
               "urgency": e.urgency, "kind": e.kind,
               "from_organisation_id": str(e.from_organisation_id), "from_user": e.from_user,
               "to_organisation_id": str(e.to_organisation_id),
               "to_service_id": e.to_service_id, "load_service_id": load_service,
               "status": e.status,
               "parent_referral_id": str(e.parent_referral_id) if e.parent_referral_id
               else None,
               "sent_at": sent_at, "updated_at": ts(e.timestamp),
               "version": e.originator_version, "next_stage": next_stage,
               "next_due_at": next_due_at, "escalation_level": level, "holds": "[]",
               "escalations": "[]", "first_contact_at": None, "waitlisted_at": None}
        cur.execute(f"INSERT INTO {{p}}referrals ({', '.join(row)}) "
                    f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        self._referrals.put(cur, rid, row)
        self._count_load(cur, {"load_service_id": load_service,
                               "to_organisation_id": str(e.to_organisation_id)},
                         None, load_kind(e.status, False))
        self._timeline(cur, str(e.case_id), e, position)

    @project.register(Referral.Event)
    def _referral_changed(self, e: Any, cur: Cursor, position: int) -> None:
        """Every later event of a referral; a command's event moves it to the state the
        domain's command table (``domain.referral.COMMANDS``) names."""
        rid = str(e.originator_id)
        name = type(e).__name__
        row = self._referrals.get(cur, rid) or \
            cur.one("SELECT * FROM {p}referrals WHERE referral_id = ?", (rid,))
        assert row is not None, f"referral {rid} unknown to the views"
        case_id = row["case_id"]
        old_status = row["status"]
        holds = json.loads(row["holds"])
        escalations = json.loads(row["escalations"])
        status = STATUS_BY_EVENT.get(name, old_status)
        sent_at = ts(e.timestamp) if name == "Sent" else row["sent_at"]
        from_user = e.by.user if name == "Sent" else row["from_user"]
        if status == ON_HOLD and old_status != ON_HOLD:
            holds.append([ts(e.timestamp), None])
        elif name in STATUS_BY_EVENT and old_status == "on-hold" and holds:
            holds[-1][1] = ts(e.timestamp) if status != "on-hold" else holds[-1][1]
        if name == "Escalated":
            escalations.append(f"{e.stage}:{e.level}")
        first_contact_at = ts(getattr(e, "made_at", None) or e.timestamp) \
            if name == "FirstContactMade" else row["first_contact_at"]
        waitlisted_at = row["waitlisted_at"]
        if name == "PutOnWaitingList":
            waitlisted_at = ts(e.timestamp)
        elif name in STATUS_BY_EVENT:  # any other change of state leaves the list
            waitlisted_at = None
        next_stage, next_due_at, level = self._deadline(
            cur, rid, status=status, urgency=row["urgency"], kind=row["kind"],
            sent_at=sent_at, first_contact_at=first_contact_at, holds=holds,
            escalations=escalations)
        changes = {"status": status, "sent_at": sent_at, "from_user": from_user,
                   "updated_at": ts(e.timestamp), "version": e.originator_version,
                   "holds": as_json(holds), "escalations": as_json(escalations),
                   "first_contact_at": first_contact_at, "waitlisted_at": waitlisted_at,
                   "next_stage": next_stage, "next_due_at": next_due_at,
                   "escalation_level": level}
        cur.execute(f"UPDATE {{p}}referrals SET {' = ?, '.join(changes)} = ? "
                    "WHERE referral_id = ?", (*changes.values(), rid))
        self._referrals.put(cur, rid, {**row, **changes})
        self._count_load(cur, row, load_kind(old_status, row["waitlisted_at"] is not None),
                         load_kind(status, waitlisted_at is not None))
        if name == "FeedbackGiven":
            self._feedback(cur, row, e)
        if name in STATUS_BY_EVENT:
            self._webhook_message(cur, e, position, status, old_status, {
                k: row[k] for k in ("case_id", "need", "urgency", "kind",
                                    "from_organisation_id", "to_organisation_id",
                                    "parent_referral_id")})
        self._timeline(cur, case_id, e, position)

    def _webhook_message(self, cur: Cursor, e: Any, position: int, status: str,
                         previous: str | None, referral: dict[str, Any]) -> None:
        """A status change, queued for the webhooks of the sending and (once it is sent)
        the receiving organisation. Ids and codes only: no case content leaves this way."""
        organisations = [referral["from_organisation_id"]]
        if status != "draft":
            organisations.append(referral["to_organisation_id"])
        marks = ", ".join("?" * len(organisations))
        hooks = cur.all(f"SELECT organisation_id, webhook_id FROM {{p}}webhooks "
                        f"WHERE organisation_id IN ({marks})", organisations)
        if not hooks:  # most organisations subscribe nothing
            return
        message_id = f"msg_{position}"
        payload = as_json({
            "type": "referral.status_changed", "timestamp": ts(e.timestamp),
            "data": {"referral_id": str(e.originator_id), "status": status,
                     "previous_status": previous, "version": e.originator_version,
                     **referral}})
        for hook in hooks:
            cur.execute(
                "INSERT INTO {p}webhook_deliveries VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, "
                "?, NULL, NULL, ?, NULL) ON CONFLICT (delivery_id) DO NOTHING",
                (f"{position}:{hook['webhook_id']}", position, hook["organisation_id"],
                 hook["webhook_id"], message_id, payload, ts(e.timestamp), ts(e.timestamp)))

    def _load_service(self, cur: Cursor, e: Any) -> str | None:
        """The service a referral counts against: the one named, else the receiver's first
        service offering the need."""
        if e.to_service_id:
            return e.to_service_id
        for row in cur.all("SELECT service_id, needs FROM {p}service_load "
                           "WHERE organisation_id = ? ORDER BY service_id",
                           (str(e.to_organisation_id),)):
            if offers_need({"needs": json.loads(row["needs"])}, e.need):
                return row["service_id"]
        return None

    def _count_load(self, cur: Cursor, row: dict[str, Any], old: str | None,
                    new: str | None) -> None:
        if old == new or not row["load_service_id"]:
            return
        for kind, delta in ((old, -1), (new, 1)):
            if kind is not None:
                column = LOAD_COLUMNS[kind]
                cur.execute(f"UPDATE {{p}}service_load SET {column} = {column} + ? "
                            "WHERE organisation_id = ? AND service_id = ?",
                            (delta, row["to_organisation_id"], row["load_service_id"]))

    def _deadline(self, cur: Cursor, referral_id: str, *, status: str, urgency: str,
                  kind: str, sent_at: str | None, first_contact_at: str | None,
                  holds: list[list[str | None]], escalations: list[str], new: bool = False,
                  ) -> tuple[str | None, str | None, int]:
        """The referral's next due stage, its deadline and escalation times, from the row as
        it is about to be written: its deadline row is replaced here, and (next stage, due
        at, escalation level) go into the referral's row with the rest of the change."""
        stage = running_stage(status, first_contact_at is not None)
        if not new:
            cur.execute("DELETE FROM {p}deadlines WHERE referral_id = ?", (referral_id,))
        if stage is None or sent_at is None:
            return None, None, len(escalations)
        deadline = stage_deadline(self.network.deadlines, self.calendar, urgency=urgency,
                                  lead_handoff=kind == "lead_handoff", stage=stage,
                                  sent_at=parse(sent_at),
                                  holds=[(parse(start), parse(end) if end else None)
                                         for start, end in holds])  # type: ignore[arg-type]
        done = sum(1 for item in escalations if item.split(":")[0] == stage)
        times = [ts(t) for t in deadline.escalations]
        next_at = times[done] if done < len(times) else None
        due_at = ts(deadline.due_at)
        cur.execute("INSERT INTO {p}deadlines VALUES (?, ?, ?, ?, ?, ?)",
                    (referral_id, stage, due_at, done + 1, next_at, as_json(times)))
        return stage, due_at, done

    # -- notifications ------------------------------------------------------------------------
    @project.register(Notification.Created)
    def _notification_created(self, e: Any, cur: Cursor, position: int) -> None:
        nid = str(e.originator_id)
        cur.execute("INSERT INTO {p}notifications VALUES (?, ?, ?, ?, 'pending', 0, NULL, "
                    "?, ?, ?, ?)",
                    (nid, str(e.referral_id) if e.referral_id else None, e.stage, e.level,
                     e.subject, as_json(e.recipients), ts(e.timestamp), ts(e.timestamp)))
        if e.referral_id is None:  # the monthly report: a mail, nothing in the inbox
            return
        for recipient in e.recipients:
            key = (f"user:{recipient['user']}" if recipient["kind"] == "user"
                   else f"organisation:{recipient['organisation_id']}")
            cur.execute("INSERT INTO {p}inapp VALUES (?, ?, ?, 'escalation', ?)",
                        (key, nid, str(e.referral_id), ts(e.timestamp)))

    @project.register(Notification.SendingStarted)
    def _sending_started(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}notifications SET status = 'sending', attempts = ?, "
                    "updated_at = ? WHERE notification_id = ?",
                    (e.attempt, ts(e.timestamp), str(e.originator_id)))

    @project.register(Notification.Delivered)
    def _delivered(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}notifications SET status = 'delivered', updated_at = ? "
                    "WHERE notification_id = ?", (ts(e.timestamp), str(e.originator_id)))

    @project.register(Notification.Failed)
    def _failed(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}notifications SET status = 'failed', updated_at = ? "
                    "WHERE notification_id = ?", (ts(e.timestamp), str(e.originator_id)))

    @project.register(Notification.NotSent)
    @project.register(Notification.Released)
    def _to_retry(self, e: Any, cur: Cursor, position: int) -> None:
        cur.execute("UPDATE {p}notifications SET status = 'retry', retry_at = ?, "
                    "updated_at = ? WHERE notification_id = ?",
                    (ts(e.retry_at), ts(e.timestamp), str(e.originator_id)))


# What a case's event changes in the case list, by event class.
CASE_COLUMNS: dict[type, Any] = {
    Case.PersonDataCorrected: lambda e: {"district": e.person["district"]},
    Case.LegalSphereChanged: lambda e: {"legal_sphere": e.legal_sphere},
    Case.CaseworkerAssigned: lambda e: {"lead_caseworker": e.caseworker},
    Case.LeadMoved: lambda e: {"lead_organisation_id": str(e.organisation_id),
                               "lead_caseworker": e.caseworker},
    Case.Closed: lambda e: {"status": "closed", "closed_at": ts(e.timestamp)},
    # Reopening withdraws a pending erasure request (domain.case).
    Case.Reopened: lambda e: {"status": "open", "closed_at": None, "erasure": None,
                              "erasure_requested_at": None},
    # The erasure's progress (no content): what the data protection role has to decide.
    Case.ErasureRequested: lambda e: {"erasure": "requested",
                                      "erasure_requested_at": ts(e.timestamp)},
    Case.ErasureDeclined: lambda e: {"erasure": None, "erasure_requested_at": None},
    Case.Erased: lambda e: {"erasure": "erased"},
}
