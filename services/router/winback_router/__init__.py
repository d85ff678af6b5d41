"""winback_router"""
