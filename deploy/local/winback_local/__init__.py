"""winback_local"""
