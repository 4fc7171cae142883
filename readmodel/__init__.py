"""Read models projected from the event store (DESIGN §9), in the same database.

Each batch of events is applied to the view tables and the projection's position advances in
the same transaction; the position only moves from the value the batch started from, so two
workers catching up at once never apply an event twice.
"""
