"""Network description: populations, projections, devices; validation before allocation."""
from .errors import SpecError
from .network import (DEVICE_TYPES, RULES, Device, Network, Population, Projection,
                      load_network, network_from_dict, validate)
from .values import Value, parse_value

__all__ = ["SpecError", "Network", "Population", "Projection", "Device", "Value",
           "parse_value", "validate", "load_network", "network_from_dict", "RULES",
           "DEVICE_TYPES"]
