"""The recipe's registry line, as a pytest plugin (`-p tests.widget_registry`): loaded before
any test module, so that every module reading `kinds.KINDS` reads the widget's registry. The
widget stands alone in it: it serves the chat rooms' collection, which a chat room would
share."""

from nexudus_pulumi import kinds
from tests import widget

kinds.KINDS = (widget.KIND,)
