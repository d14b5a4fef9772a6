"""csvhub: CSV files in, typed warehouse tables and a REST API out."""
