"""Re-coding past responses after a taxonomy change (``python -m winback_router.recoding``).

What a run re-codes is always the response **as stored** in PostgreSQL, never a Kafka record's
own payload. A response often arrives in several deliveries (Delighted's score, then its
comment; Formbricks' created, updated, finished); the router merges them (``revisions.py``) and
the stored response is that merge. Codes carry evidence with spans into the stored comment, so
codes computed from any one delivery, or from a merge redone from whatever Kafka still holds,
could disagree with the comment the card shows. Kafka (or the table itself, with
``--from-database``) only chooses *which* responses to re-code.

A run never opens a case, never publishes an alert and never changes a case's priority or
queue: the priority set the SLA target agents have been working to, and changing it silently
would either breach a case on the spot or hide urgency. It records the priority the new codes
would give so a supervisor can act. What it does change is the response's ``codes``, which is
what a case's card shows as its reasons; an open case therefore gets ``seq + 1`` and a
``recoded`` history entry, and a resolved or closed case keeps its history untouched, as the
router does for revisions. The entry is left to the notifier's outbox, which pushes it to the
consoles of the case's queue as a quiet update: the card and open detail show the new reasons,
and no console pops it up as news (see ``store.apply_change`` for why not publish it here).
"""
