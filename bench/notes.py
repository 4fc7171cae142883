"""What the table's figures mean, and for each target the reason it is missed and what would
close it (from profiles of the engine taken with py-spy and pyinstrument)."""

NOTES: dict[str, list[str]] = {
    "method": [
        "- Every step starts after PostgreSQL has flushed the previous step's writes "
        "(CHECKPOINT) and no autovacuum is at work (at most two minutes' wait), so that no "
        "step measures the cleanup of the one before.",
        "- Command path: `send_referral` then `accept_referral` through the application "
        "services (membership check, consent, idempotency pipeline), each writer on its own "
        "25 cases; the baseline is a plain `eventsourcing.Application` saving the same "
        "events (referral created with the case's consent-use note in one transaction, then "
        "loaded and accepted) in the same database; the two take turns in ten rounds, so "
        "load from elsewhere on the shared machine hits both alike. Four writers are four "
        "threads sharing one application, as gunicorn's threads do. The engine runs with "
        "its aggregate cache (`AGGREGATE_CACHE_SIZE`, default 1000) and, on PostgreSQL, "
        "its recorder (a command's events in one round trip, runtime/postgres_recorder.py), "
        "the baseline with the library's defaults (no cache, the library's recorder).",
        "- Web: `gunicorn -c deploy/gunicorn.conf.py` (3 workers × 4 threads on 2 cores), "
        "driven by wrk (C, 2 threads, 16 connections, a warm-up of a fifth of the run first) "
        "with a signed-in session. Form POSTs each carry a fresh idempotency key and take "
        "turns over 200 cases (40 in the quick run), so no request conflicts with another; they answer with the "
        "redirect to the new referral. No Celery worker runs in this step: after the first "
        "POST a nudge waits in Redis, as it does while the workers are busy, and the "
        "others only see its flag (runtime/nudge.py). The bare Flask app renders a "
        "template of the inbox page's size and redirects a form POST, under the same "
        "configuration.",
        "- Projections: the events are one unit of real traffic (case, consent, three "
        "referrals through their states), recorded through the commands once and cloned "
        "under fresh ids in batches through the library's recorder into a scratch schema. "
        "The views are rebuilt as `views rebuild` does (readmodel/rebuild.py: every event "
        "projected into a scratch SQLite file in batches of 1,000, its tables copied into "
        "shadow tables with COPY, the events recorded meanwhile taken in, the shadow "
        "swapped in) in a process of its own, from the first event; the baseline is the "
        "library's `ProjectionRunner` with a projection that only records its tracking "
        "position, over the first events of the same log (its rate is steady, so a prefix "
        "keeps the run short). Peak RSS is the process's maximum. On SQLite (the embedded "
        "default, a file in a temporary folder) the same rebuild projects into shadow "
        "tables in the store's own file; the library has no runner there (its SQLite "
        "recorder has no subscriptions), so its baseline is the runner's loop by hand: "
        "read the log in sections, make each event, record its tracking.",
        "- Command path on SQLite: the same writers on a SQLite file (the embedded "
        "default), engine and bare library in the same file.",
        "- Lag: a real Celery worker against Redis, nudged by the engine after each save as "
        "in production; 50 commands/s (send, accept, …) for the whole run; an event is "
        "visible when the views' position passes it (rows and position commit together), "
        "observed every 2 ms. The library's runner follows the same commands meanwhile.",
        "- Escalation scan: `workers.escalation.scan(..., dry_run=True)` — the indexed query "
        "of the due deadlines and the parsing of their rows, 100 due among all. The rows "
        "are written with COPY, shaped like a projected one; median of 300 scans at full "
        "size, taken in turns with the bare query (a scan is under a millisecond, so the "
        "machine's jitter is as large as the difference).",
        "- Many networks: an installation on PostgreSQL with eleven networks (the demo "
        "city's configuration under eleven slugs), each in a schema of its own, registered "
        "as operators do (`networks add`). The same number of processes (one per core) in "
        "both runs, each going through the installation's registry as web and workers do: "
        "for the commands each process sends and accepts referrals round-robin over its "
        "share of ten networks, against the same processes all on one network; for the "
        "projections each process catches up the views of its share of ten networks (a "
        "tenth of the events each), against one process catching up one network with all "
        "the events. Rates are the work of all processes over the wall time from the first "
        "start to the last end. Its ratio is the cost of many tenants per core.",
        "- Audit: the supervisor's case history page through the Flask app in-process "
        "(median of repeated requests); the case's events are needs recorded and resolved "
        "in turn. With snapshots, the engine runs with `IS_SNAPSHOTTING_ENABLED` and a "
        "snapshot of the case taken first.",
        "- Report pages: after the projections' rebuild, each of the coordinator's report "
        "pages (health, map, care gaps, capacity) with its default filter (the last twelve "
        "months) through the Flask app in-process, median of repeated requests, on the "
        "views just rebuilt. The cloned units are spread over the two years before the run "
        "and over the network's districts, so about half of the history lies in the "
        "period. The reports read monthly rows (`report_flows`, `report_step_hours`, "
        "`report_need_months`), whose size grows with months × districts × needs × pairs "
        "of organisations, not with the events. The baseline is a bare Flask page of the "
        "slowest page's size in the same test client.",
        "- `make bench-quick` runs the same code on small sizes (its table goes to "
        "test-artifacts/bench-quick.md); its figures prove the code runs, nothing more.",
    ],
    "commands_1": [
        "Per referral sent and accepted the engine loads five aggregates where the bare "
        "library loads two (the case, the receiving organisation and the sender's for "
        "`send_referral`; the referral and the receiver's for `accept_referral`). Each load "
        "of a cached aggregate used to be a fast-forward query; now each command looks at "
        "the log's newest rows once (`SerialisedRepository.log_checked` in "
        "domain/aggregate_cache.py) and a cached aggregate none of whose events is among "
        "them is taken as it is, and what a command saved is cached as saved. So a "
        "referral costs two small reads of the log instead of five fast-forward queries "
        "(0.78× before). If it is missed, compare the per-command queries "
        "(`log_min_duration_statement = 0`) with the bare library's.",
    ],
    "commands_4": [
        "As with one writer (see above); the four threads share one process's cache and "
        "its look at the log.",
    ],
    "commands_sqlite_1": [
        "The same code as on PostgreSQL; on this shared machine the row varies more than its "
        "distance to the line: 0.78× to 0.99× in five runs of the same code on 2026-12-01 "
        "(SQLite commits take a fraction of a millisecond, so a burst of load elsewhere "
        "weighs on one side of a round). If it is missed, run `python -m bench --only "
        "commands` a few times before profiling.",
    ],
    "commands_sqlite_4": [
        "As with one writer (see above).",
    ],
    "privacy_page": [
        "Medians of in-process requests. Until 2026-12-01 the protected page was measured "
        "after the plain one, and the ratio moved between 0.75× and 0.94× over runs of the "
        "same code; the two are now requested in turns, so load from elsewhere hits both "
        "alike. The page's own cost of encryption and the read audit is about a millisecond "
        "(decrypting the case's events, one insert).",
    ],
    "networks_commands": [
        "Until 2026-12-01 the baseline was one process on one network while the ten "
        "networks ran in two processes, so the ratio held the cost of a second process "
        "sharing two cores with PostgreSQL as well (0.74–0.82×); both sides now run the "
        "same processes, as this row's method says. What is left per network and process: "
        "its own connection pool, cache and look at its log.",
    ],
    "inbox": [
        "Profiled (pyinstrument, 300 requests of the 50-row inbox in-process) before this "
        "run's changes: the template was three fifths of a request, the rest about twelve "
        "reads. Changed: the rows read by key in the template (an attribute lookup failed "
        "first for every cell), the row links built once per page (`web/links.py`), the "
        "label tables cached per process, the signed installation cookie checked once per "
        "value; the navigation's counts and the waiting list taken from the inbox already "
        "read, the forums only read when there are agreements, the viewer's account and "
        "organisation from the cache after one look at the log (see the command path), "
        "which also gives the lists' freshness its end of the log; and the worker freezes "
        "what it made while starting (`gc.freeze()` in web/wsgi.py), so the garbage "
        "collector's full passes no longer stop a worker for about 80 ms. 0.55–0.65× in "
        "four runs of 2026-12-01 night on a faster machine, 0.54× and 0.48× in the two "
        "runs that morning (the bare page itself 334–396 requests/s instead of 585, and "
        "gunicorn's workers keep each client's connection where it was accepted, see the "
        "form POST). On 2026-12-01 at 07:15 the page and the form POST were measured "
        "twice each with gunicorn's keep-alive (5 s) and without it (`GUNICORN_KEEPALIVE=0`: "
        "every request a new connection, taken by a worker that is free), in turns: the "
        "inbox 0.25× and 0.46× with it, 0.60× and 0.60× without (243 requests/s both "
        "times; the bare page loses more to the new connections, 565 → 406); the form "
        "POST p99 116 and 145 ms with it, 177 ms twice without, so keep-alive stays. What "
        "spreads the clients instead: a worker takes at most its threads' connections plus "
        "two idle ones (`worker_connections` = threads + 2 in deploy/gunicorn.conf.py; "
        "gunicorn closes idle connections beyond those two after their answer, so browsers "
        "cannot hold the slots). At 08:07 in turns: the inbox 0.32× and 0.80× unlimited, "
        "0.66× and 0.63× limited; the form POST 136 and 221 requests/s unlimited, 267 and "
        "254 limited (p99 157/130 → 132/135 ms). If it is missed, profile again: what is "
        "left is rendering and escaping the cells.",
    ],
    "post": [
        "A form POST runs the command path (see above) plus the session, the CSRF check, "
        "the form and the redirect. With 16 clients always waiting, latency is clients ÷ "
        "throughput: on 2026-12-01 the machine's speed changed by half between runs of the "
        "same code (the bare form POST 808 to 2,820 requests/s), and p99 with it (75 to "
        "240 ms). The library's save holds the events table's lock across two round trips "
        "(insert, then commit), and between them the thread waits for the interpreter "
        "lock; the engine's recorder now saves in one statement (the lock taken and "
        "released inside the database). gunicorn's gthread workers keep a client's "
        "connection where it was accepted, and one worker often took most of the 16 "
        "(seen as 16/0/0 and 2/3/11 with `ss`): that worker's share of one core then "
        "serves most clients, which halved the rate in such runs (now limited, see "
        "below). Earlier causes: gunicorn "
        "replaced each worker after 2,000 requests (during the run: a fresh process with "
        "an empty cache; now 20,000), and the garbage collector's full passes over the "
        "worker's startup objects (about 80 ms each; frozen now). Each POST also waited "
        "for its nudge to reach Redis (the CLI's flush ran in requests too; it no longer "
        "does), looked up its idempotency key before deciding (now only its repeat is "
        "looked up, when its save or its decision fails) and fast-forwarded the cached "
        "account, organisations and case (one look at the log now, shared by the requests "
        "that wait while another thread looks). What is left per POST (py-spy, only "
        "samples holding the interpreter lock): the save 16 %, gunicorn's own loop 15 %, "
        "the viewer's account, the session, CSRF and limits before the view 14 %, the "
        "case's load and copy 12 %, the nudge's "
        "Celery message 4 % (of the samples holding the lock only; see below). Since "
        "then the access check looks at the cached case instead "
        "of a deep copy of it (the command still loads its own), and each worker holds at "
        "most its threads' connections plus two (see the inbox): the collapses to half the "
        "rate are gone, but p99 stayed at 130–135 ms at 250–270 requests/s on this "
        "machine; under 100 ms needs about 330 requests/s, a third less CPU per POST. The "
        "same code met it in the full run of 2026-12-01 11:33 on a quieter machine (the bare "
        "form POST at 5,852 requests/s instead of 1,176–3,188 that morning): 515 requests/s, "
        "p99 70 ms, and 66–81 ms in three runs of the web step before it; the inbox "
        "0.54–0.61× in the same four runs; at 18:30 on a slower machine 400 requests/s, "
        "p99 95 ms. On the machine of 2026-12-02 (the bare form POST at 3,023–3,397 "
        "requests/s) it was 342–364 requests/s with p99 93–117 ms in two full runs and two "
        "runs of the web step alone: at the target's edge, the inbox 0.49–0.56×. On "
        "2026-12-02 at 04:30 a machine a third as fast (the bare form POST at 1,231 "
        "requests/s, the bare page 220–232) gave 127 and 132 requests/s, p99 249 and "
        "280 ms. Profiled there in-process (cProfile, 600 POSTs; CPU time per POST in "
        "turns with and without the nudge): the nudge cost 2.7 of 12 ms, most of it in "
        "Celery's `send_task` (kombu makes a Redis client per message) and in the nudging "
        "thread's turns at the interpreter lock; and the session's zlib compression was "
        "about half of writing the cookie. Now a nudge is published only while none waits "
        "for a worker (a flag in Redis, set with `SET NX` by the publisher, cleared by the "
        "worker as its catch-up begins: runtime/nudge.py), 1.1 ms left of the 2.7; and the "
        "session is signed uncompressed while under 1 KB (web/networks/routing.py). The "
        "web step then gave 141 and 156 requests/s on the same machine, p99 236 and "
        "207 ms. Other layouts did not move it there (6 × 2 threads: 156 requests/s, p99 245 ms; 4 × 3: 160, "
        "238 ms; 8 × 2: 135, 354 ms), nor did the interpreter's switch interval (1 ms: "
        "p99 203 ms; 20 ms: 214 ms). Under 100 ms at 16 clients needs "
        "about 270 requests/s there: the target holds on the machines of the committed "
        "runs, not on one a third as fast. On 2026-12-02 two full runs of the same code "
        "an hour apart on one machine: at 08:51 (the bare form POST at 1,940 requests/s, "
        "the case page 13.1 ms) 234 requests/s, p99 148 ms, missed; at 09:48 (the bare form "
        "POST at 3,184, the case page 8.9 ms) the row above. There the app's own request "
        "log under wrk showed half a POST's latency spent inside the app (p50 25 ms, p99 "
        "78 ms) and half waiting for a worker's thread, the slowest POSTs spread evenly "
        "over the run (queueing for two cores, no stalls); gunicorn's sync workers (each "
        "request a new connection) gave p99 134–148 ms against 84–90 ms for the default "
        "in turns. If it is missed, look at the bare form POST's rate in the same run "
        "first.",
    ],
    "projections": [
        "`views rebuild` projects into a scratch SQLite file and copies the tables into "
        "PostgreSQL with COPY (readmodel/rebuild.py), so it no longer waits for a round trip "
        "per statement (about eight per event, which held the old rebuild at 493 events/s). "
        "What is left is Python on one core: the projectors, and decoding and decrypting "
        "each event (about a fifth). Since the run of 2026-12-01 04:36: a referral's "
        "deadline is computed from its row as it is about to be written and goes into the "
        "same statement, the rows a projector wrote in its transaction are read from memory "
        "by the next event of the same referral (readmodel/projections/written.py), a "
        "working-day count is kept per day and length, and each statement's dialect per "
        "text: 8.3 → 6.2 statements per event, about a fifth less CPU per event (process "
        "time over 20,000 events, old and new code in turns: 5.05–5.97 s → 4.36–4.71 s). "
        "The baseline's own rate varies by half between runs on this shared machine (812 "
        "and 763 events/s at 03:36 and 04:36 on 2026-12-01, when the rebuild reached 2,537 "
        "and 2,453 events/s, 3.1× and 3.2× the runner; 5,442 events/s, 2.22×, the night "
        "before on a faster machine): the ratio holds, the absolute line depends on the "
        "machine. What would take it further on two cores: the report projection in a "
        "second process with a scratch file of its own (the workflow views and the reports "
        "share no table), which would roughly halve the projecting phase.",
    ],
    "lag": [
        "The nudge goes through Redis to the worker, which then reads and applies the new "
        "events; a miss here would mean the worker falls behind 50 commands/s (see the "
        "projection rate). The ratio varies between runs of the same code more than "
        "between versions: on 2026-12-02 three runs of the step each, in turns, before and "
        "after nudges began to wait in Redis (runtime/nudge.py) gave 1.08×, 1.69×, 2.16× "
        "(p99 20, 15, 30 ms) and 1.70×, 2.27×, 2.15× (p99 17, 28, 26 ms).",
    ],
    "scan_large": [
        "The due set is found by the index on `next_escalation_at`; if this is missed, "
        "the time goes into parsing the rows (`json.loads` and `datetime.fromisoformat` of "
        "each escalation time) rather than into the query, as the bare query's time shows.",
    ],
    "audit_plain": [
        "The page is bound by rendering 1,000 rows, not by reading the events. Label "
        "tables translated once per language and dates written from their fixed patterns "
        "took it from 229 ms to about 90 ms on a fast machine; on 2026-12-01 the rows' "
        "words were still made cell by cell in the template (four template calls per row) "
        "and each detail's name was a lazy string translated through Babel per fact — a "
        "fifth of the page (pyinstrument). Now `web/audit/readable.py` `lines` makes every "
        "row's words in one pass and the names come from the per-language label tables: "
        "177 → 93 ms for the same page in one measurement on this machine, the HTML of "
        "every demo audit page unchanged. The access check's load is the cached case (no "
        "replay); what is left is reading and decoding the 1,000 events once (about a "
        "third) and rendering. If it is missed again, pages of a few hundred rows with the "
        "CSV for the whole history would bound it.",
    ],
    "audit_snapshot": [
        "A snapshot only shortens loading the case for the access check, which the "
        "aggregate cache already answers; the history itself reads, replays and renders "
        "every event, so this row follows the one above (97 ms on the faster machine of "
        "the night before 2026-12-01, 140 and 229 ms in that morning's two runs, before "
        "the rows were made in one pass).",
    ],
    "networks_projections": [
        "Bound by the database's writes, as the rebuild is; several processes catch up "
        "different networks' views in parallel (each network's views are one writer's), "
        "so the rate per core is what one network alone reaches in one process. The "
        "ratio varies with how much of the second core PostgreSQL leaves the one process "
        "of the baseline: 0.83× to 2.23× in the committed runs, 0.68× and 0.79× in the "
        "two full runs of 2026-12-02 morning (the baseline at 1,264 and 1,575 events/s "
        "per core, against 849 at 01:43, with no change to the projections between)."],
}


# What each row's figure is bound by (from profiles: pyinstrument and cProfile), shown for
# every row of the table.
BOUND: dict[str, str] = {
    "commands_1": "the database's commits: two saves per referral, as for the bare library "
                  "(the engine's in one round trip each); the engine adds one look at the "
                  "log per command (its aggregates come from its cache) and its checks",
    "commands_4": "as with one writer; the threads share the process's cache and the database",
    "commands_sqlite_1": "SQLite's commits (one file, synchronous); the engine adds its look "
                         "at the log and its checks, as on PostgreSQL",
    "commands_sqlite_4": "SQLite's single writer: the four threads take turns at the lock",
    "privacy_commands": "AES-GCM and the case's own key are cheap beside the commits",
    "privacy_page": "the page's reads and rendering; the read audit adds one insert",
    "inbox": "Python on two cores shared with PostgreSQL: rendering and escaping 50 rows "
             "is about half of a request, the rest six reads (the log, the inbox, the "
             "people's requests, agreements, names, the views' position) and the session",
    "post": "Python on two cores shared with PostgreSQL: a POST runs the command path (one "
            "commit, one look at the log) plus the session, the form and the nudge; with 16 "
            "clients always waiting, latency is clients ÷ throughput, so p99 follows the "
            "CPU time per request and any stall of a worker",
    "projections": "the projectors' Python on one core (no longer the database's round "
                   "trips); the copy into PostgreSQL is a few percent",
    "projections_sqlite": "the projectors' Python, as on PostgreSQL; its one writer takes "
                          "its turns with the live views' catch-up",
    "reports": "reading the monthly rows; they grow with months and pairs, not events",
    "lag": "the nudge through Redis and the catch-up's transaction",
    "scan_large": "parsing the due rows, not the indexed query",
    "scan_small": "as the row above",
    "networks_commands": "the database's commits, as the command path",
    "networks_projections": "the projectors' Python and the database's round trips, one "
                            "network per process at a time",
    "audit_plain": "rendering the 1,000 rows",
    "audit_snapshot": "rendering the 1,000 rows",
}
