"""Refinement off the hot path (``python -m winback_router.refine``).

The router codes every response with the rules and the fast TF-IDF-only model
(``coding/reason_model_fast.npz``), so the pop-up never waits for a sentence encoder. This
process then codes the stored responses again, in large batches, with the full model (TF-IDF
plus the multilingual sentence vectors, ``coding/reason_model.npz``) and, where the two disagree
on which codes apply, re-codes the response through the re-coding path
(:func:`winback_router.recoding.store.apply_change`): new codes on the response, a ``recoded``
entry in its open case's history that the notifiers' outbox pushes to the consoles as a quiet
update, the case's priority and queue left as they are (the entry notes what the new codes
would give), all in one transaction with the mark that says the response is refined.

Why the database and not a Kafka consumer: what must be refined is the response *as stored*
(all its deliveries merged, as re-coding reads it), and only once it is stored. A consumer of
``survey-responses`` would run ahead of the router and could not tell a record not stored yet
from a dead letter; ``case-events`` cover only responses with a case. The queue is the column
``survey_responses.refine_pending`` (migration 0030): set when the router inserts or revises a
response, cleared by the refiner in the transaction that re-codes it, so a restart neither
skips one nor re-codes one twice, without any offset to keep in step.

It yields to the hot path: while the router group lags on ``survey-responses`` it pauses
(with hysteresis, and a small batch each time a pause reaches its maximum, so nothing waits
forever). That is the one thing it reads from Kafka; docs/performance.md (section 11) says why
the lag and not the rate of stored responses.

Modules: ``select`` (pure: whether a refinement changes anything), ``pause`` (pure: when to
yield), ``hot_path`` (the router group's lag from the brokers), ``gate`` (the two joined, with
the metrics of the pause), ``store`` (SQL), ``loop`` (the batches), ``app`` (the process:
probes and metrics).
"""
