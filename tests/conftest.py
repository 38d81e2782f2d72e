pytest_plugins = ["support.smtp", "support.database", "support.app"]
