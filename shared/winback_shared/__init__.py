"""winback_shared"""
