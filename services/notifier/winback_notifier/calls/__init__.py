"""Reaching the customer on the call itself: their local time and calling hours, and the words
for the call by reason (issue 17). The case workflow (attempts and their outcomes) stays in
:mod:`winback_notifier.cases`; this room only reads cases."""
