import sys

from cloudmcp.cli import main

sys.exit(main())
