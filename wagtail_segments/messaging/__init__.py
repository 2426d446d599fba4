"""Messaging: email and SMS messages, their deliveries, consent and suppression.

Stands above segments (the preference page lists public static segments) and below
campaigns (which send through it): it never imports ``campaigns``.
"""
