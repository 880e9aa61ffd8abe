"""The HTTP and WebSocket API: `/v1` routes, auth, errors, streams and the OpenAPI document."""
