"""The label sets of shared/labels/GUIDE.md, in one place."""

SENTENCE_FOCUS = ("me_talk", "customer_centric", "other")
EMAIL_FOCUS = ("me_talk", "customer_centric")
TONES = ("desperate", "threatening", "neutral")
FLAGS = ("desperate", "threatening")
SOURCES = ("outreach", "follow_up", "inbound_reply", "incoming")


def primary_tone(flags):
    """The most severe tone present: threatening > desperate > neutral."""
    if "threatening" in flags:
        return "threatening"
    if "desperate" in flags:
        return "desperate"
    return "neutral"
