"""Smart signal control on the twin's road network with SUMO.

Export the network to SUMO (:mod:`~cityos.twin.signals.export`), generate car, bus, shuttle and
ambulance demand (:mod:`~cityos.twin.signals.demand`), and run it under fixed-time, actuated or
max-pressure control with bus priority and emergency-vehicle pre-emption
(:mod:`~cityos.twin.signals.control`, :mod:`~cityos.twin.signals.simulation`).
"""
