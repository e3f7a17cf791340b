"""genart's own kinds, one folder each; `genart.core.registry` finds them (and the plug-ins') by their `KIND`."""
