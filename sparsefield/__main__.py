import sys

from sparsefield.cli import main

sys.exit(main())
