"""Parts of the built-in synthetic market (entry point: ``features.synthetic_market``)."""
