"""cloudmcp: Model Context Protocol servers in production."""
