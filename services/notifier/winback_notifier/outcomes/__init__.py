"""The outcome loop: did recovery win the customer back?

A later survey response of the same customer (matched by :mod:`winback_shared.customer_match`,
from any source) is linked to the customer's most recent case resolved before it; its score is
the measured outcome. Links are computed when a report is read, never on the router's path:
``linking`` holds the rules (pure), ``stats`` the intervals (pure), ``report`` the figures by
reason, queue, agent, resolution kind and time to first contact (pure), ``service`` the reads.
"""
