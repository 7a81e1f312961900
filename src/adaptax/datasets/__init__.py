"""Real datasets read from their official archives, cached without pickle."""
