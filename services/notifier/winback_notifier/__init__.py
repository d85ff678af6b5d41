"""winback_notifier"""
