"""The core city services, each reading and writing through the hub."""
