// The hub's HTTP server.
