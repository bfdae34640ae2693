"""The pure model of EcoVarejo: aggregates, their events, value objects and errors. No I/O."""
