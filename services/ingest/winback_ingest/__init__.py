"""winback_ingest"""
