"""The story so far: a case's customer across responses, cases and sources (issue 17)."""
