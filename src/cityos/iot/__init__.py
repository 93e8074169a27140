"""IoT layer: device registry, payload profiles onto FIWARE Smart Data Models, the MQTT agent."""
