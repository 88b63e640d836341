"""What every scenario stands on: stores, servers, a proxy, clients, load and models."""
