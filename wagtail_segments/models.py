"""Every model of the app, importable from one place; Django finds them here."""

from wagtail_segments.campaigns.models import (  # noqa: F401
    Campaign,
    Run,
    Step,
    StepLog,
)
from wagtail_segments.contacts.models import (  # noqa: F401
    Company,
    Contact,
    ContactTag,
    Event,
    EventKind,
    ProcessingPosition,
    PropertyDefinition,
    QueuedTask,
    TaggedContact,
    Touchpoint,
)
from wagtail_segments.messaging.models import (  # noqa: F401
    Consent,
    Delivery,
    EmailMessage,
    ProviderEvent,
    SmsMessage,
    Suppression,
)
from wagtail_segments.segments.models import (  # noqa: F401
    Membership,
    PendingEvaluation,
    Segment,
    SegmentDailyCount,
)
from wagtail_segments.tracking.models import FormMapping  # noqa: F401
