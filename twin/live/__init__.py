"""Live data: sensor alerts over MQTT, school buses, trips and ETA, fan-out to clients."""
