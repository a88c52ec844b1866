"""The serving runtime: the HTTP edge (nginx) in front of the uWSGI workers that answer queries."""
