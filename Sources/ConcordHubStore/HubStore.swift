// The hub's PostgreSQL store.
