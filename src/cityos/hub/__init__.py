"""The NGSI-LD context broker: the operating system of the city."""
