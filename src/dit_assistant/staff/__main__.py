"""``python -m dit_assistant.staff``: the same as the ``dit-staff`` command."""

import sys

from dit_assistant.staff.cli import main

sys.exit(main())
