import sys

from unmask_studio.cli import main

sys.exit(main())
