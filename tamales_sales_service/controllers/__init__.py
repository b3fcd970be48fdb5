"""One Litestar controller per resource of the sales API."""
