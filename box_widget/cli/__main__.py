"""``python -m box_widget.cli``: the ``box-widget`` command."""

import sys

from . import main

sys.exit(main())
