"""`python -m tamales_inc.forecasting`: the `train` command (see `tamales_inc.forecasting.cli`)."""

import sys

from tamales_inc.forecasting.cli import main

sys.exit(main())
